/**
 * A measured round of the delivery scenarios (fan-out, filtered watches, RabbitMQ): arm the load processes,
 * inject changes (or let the broker bring them), wait until every client has what it expects while forwarding the
 * slowest client's progress to the server as credit, then merge what the loads report into a row's fields.
 */
import { log, round } from './harness.js';
import { Histogram, type HistogramData } from './histogram.js';
import type { Child } from './ipc.js';
import type { Row } from './report.js';

/** Changes sent before each measured round and not measured (BENCH_WARMUP), so the JIT and the buffers of every target get the same start. */
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);

interface Progress {
  min: number;
  received: number;
  expected: number;
}

/**
 * Injects `count` changes after `from` and waits until every load process received what it expects (or nothing
 * arrived for `idleMs`). Forwards the slowest client's progress to the server as credit.
 */
export async function injectAndWait(
  server: Child,
  loads: Child[],
  opts: { from: number; count: number; rate?: number; window?: number; lo?: number[]; filtered?: object },
): Promise<{ startUs: number; cpuUs: number; rssMB: number; reports: LoadReport[] }> {
  const progress: Progress[] = loads.map(() => ({ min: 0, received: 0, expected: Infinity }));
  let credit = 0;
  let wake: (() => void) | undefined;
  for (const [i, l] of loads.entries()) {
    l.on('progress', (p) => {
      progress[i] = p as unknown as Progress;
      const min = Math.min(...progress.map((x) => x.min));
      if (min > credit) {
        credit = min;
        server.request('credit', { upTo: credit }).catch(() => undefined);
      }
      wake?.();
    });
  }
  await Promise.all(
    loads.map((l, i) =>
      l.request('arm', {
        from: opts.from,
        count: opts.count,
        lo: opts.lo?.[i] ?? 0,
        ...(opts.filtered ? { filtered: opts.filtered } : {}),
      }),
    ),
  );
  await server.request('cpu-start');
  const injected = server.request<{ startUs: number }>(
    'inject',
    {
      from: opts.from,
      count: opts.count,
      ...(opts.rate ? { rate: opts.rate } : {}),
      ...(opts.window ? { window: opts.window } : {}),
    },
    600_000,
  );
  let lastTotal = -1;
  let lastChange = Date.now();
  for (;;) {
    const total = progress.reduce((a, p) => a + p.received, 0);
    const expected = progress.reduce((a, p) => a + p.expected, 0);
    if (total >= expected) break;
    if (total !== lastTotal) {
      lastTotal = total;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > 15_000) {
      log(`no progress for 15 s (${total}/${expected}); reporting what arrived`);
      break;
    }
    await new Promise<void>((r) => {
      wake = r;
      setTimeout(r, 100);
    });
  }
  const { startUs } = await injected;
  const { cpuUs, rssMB } = await server.request<{ cpuUs: number; rssMB: number }>('cpu-end');
  const reports = await Promise.all(loads.map((l) => l.request<LoadReport>('report')));
  for (const l of loads) l.proc.removeAllListeners('progress');
  return { startUs, cpuUs, rssMB, reports };
}

export interface LoadReport {
  deliveries: number;
  expected: number;
  lost: number;
  disorder: number;
  lastUs: number;
  hist: HistogramData;
  cpuUs: number;
}

/** The measured fields of a row where clients counted deliveries (fan-out, filtered watches). */
export function measured(
  result: { startUs: number; cpuUs: number; rssMB: number },
  m: ReturnType<typeof merge>,
): Pick<Row, 'deliveries' | 'lost' | 'deliveriesPerSec' | 'serverCpuUsPerDelivery' | 'p50Ms' | 'p99Ms' | 'serverRssMB'> {
  const seconds = (m.lastUs - result.startUs) / 1e6;
  return {
    deliveries: m.deliveries,
    lost: m.lost,
    deliveriesPerSec: Math.round(m.deliveries / seconds),
    serverCpuUsPerDelivery: round(result.cpuUs / Math.max(1, m.deliveries), 3),
    p50Ms: round(m.hist.quantileMs(0.5), 2),
    p99Ms: round(m.hist.quantileMs(0.99), 2),
    serverRssMB: round(result.rssMB, 1),
  };
}

export function merge(reports: LoadReport[]): {
  deliveries: number;
  lost: number;
  disorder: number;
  lastUs: number;
  hist: Histogram;
  clientCpuUs: number;
} {
  const hist = new Histogram();
  for (const r of reports) hist.merge(r.hist);
  return {
    deliveries: reports.reduce((a, r) => a + r.deliveries, 0),
    lost: reports.reduce((a, r) => a + r.lost, 0),
    disorder: reports.reduce((a, r) => a + r.disorder, 0),
    lastUs: Math.max(...reports.map((r) => r.lastUs)),
    hist,
    clientCpuUs: reports.reduce((a, r) => a + r.cpuUs, 0),
  };
}

/** Like `injectAndWait`, for changes that something else injects (the broker). */
export async function injectAndWaitExternal(
  server: Child,
  loads: Child[],
  from: number,
  count: number,
): Promise<{ cpuUs: number; rssMB: number; reports: LoadReport[] }> {
  const progress: Progress[] = loads.map(() => ({ min: 0, received: 0, expected: Infinity }));
  loads.forEach((l, i) => {
    l.on('progress', (p) => {
      progress[i] = p as unknown as Progress;
    });
  });
  await Promise.all(loads.map((l) => l.request('arm', { from, count })));
  await server.request('cpu-start');
  let lastTotal = -1;
  let lastChange = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 50));
    const total = progress.reduce((a, p) => a + p.received, 0);
    if (total >= progress.reduce((a, p) => a + p.expected, 0)) break;
    if (total !== lastTotal) {
      lastTotal = total;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > 15_000) break;
  }
  const { cpuUs, rssMB } = await server.request<{ cpuUs: number; rssMB: number }>('cpu-end');
  const reports = await Promise.all(loads.map((l) => l.request<LoadReport>('report')));
  for (const l of loads) l.proc.removeAllListeners('progress');
  return { cpuUs, rssMB, reports };
}
