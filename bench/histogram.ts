/**
 * A latency histogram that load processes fill and the orchestrator merges: 10 µs buckets up to 5 s (anything
 * slower lands in the last bucket, and `max` keeps the true maximum). Sent over IPC as its non-empty buckets.
 */
const BUCKET_US = 10;
const BUCKETS = 500_000;

/** Non-empty buckets `[index, count]`, plus the count and the maximum. */
export interface HistogramData {
  readonly buckets: Array<[number, number]>;
  readonly count: number;
  readonly maxUs: number;
}

export class Histogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  maxUs = 0;

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.maxUs = 0;
  }

  record(us: number): void {
    const i = us <= 0 ? 0 : Math.min(BUCKETS - 1, Math.floor(us / BUCKET_US));
    this.counts[i]!++;
    this.count++;
    if (us > this.maxUs) this.maxUs = us;
  }

  toData(): HistogramData {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) buckets.push([i, this.counts[i]!]);
    return { buckets, count: this.count, maxUs: this.maxUs };
  }

  merge(data: HistogramData): void {
    for (const [i, n] of data.buckets) this.counts[i]! += n;
    this.count += data.count;
    if (data.maxUs > this.maxUs) this.maxUs = data.maxUs;
  }

  /** The `q` quantile (0..1) in milliseconds (bucket midpoint), or null when empty. */
  quantileMs(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return i === BUCKETS - 1 ? this.maxUs / 1000 : ((i + 0.5) * BUCKET_US) / 1000;
    }
    return this.maxUs / 1000;
  }
}
