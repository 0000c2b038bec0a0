/**
 * The bench's output: the JSON row type (one line per scenario and target) and the human table printed at the
 * end, with ratios against the baselines of the same run and each target of issue 7 marked met or missed.
 */
import type { BenchConfig } from './config.js';

/** One JSON line. The first fields are the ones issue 7 asks for; the rest are per scenario. */
export interface Row {
  scenario: string;
  target: string;
  run: number;
  clients: number | null;
  events: number | null;
  deliveries: number | null;
  lost: number;
  deliveriesPerSec: number | null;
  serverCpuUsPerDelivery: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  serverRssMB: number | null;
  [extra: string]: unknown;
}

const fmt = (v: unknown, digits = 2): string =>
  v === null || v === undefined
    ? '–'
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? v.toLocaleString('en-US')
        : v.toFixed(digits)
      : String(v);

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  return a && b ? `${(a / b).toFixed(2)}×` : '–';
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

const isResumeRow = (r: Row): boolean => r.scenario === '3b-resume-drop' || r.scenario === '3c-resume-restart';

/** The resume rows as [on, off] pairs of the same run, scenario and share, in the order they ran. */
function resumePairs(rows: Row[]): Array<[Row, Row]> {
  const out: Array<[Row, Row]> = [];
  for (const on of rows.filter((r) => isResumeRow(r) && r.resume === true)) {
    const off = rows.find((r) => r.scenario === on.scenario && r.run === on.run && r.sharePct === on.sharePct && r.resume === false);
    if (off) out.push([on, off]);
  }
  return out;
}

const pct = (a: unknown, b: unknown): string =>
  typeof a === 'number' && typeof b === 'number' && b > 0 ? `${((100 * a) / b).toFixed(1)} %` : '–';

/** Prints the table and the target verdicts to stdout. */
export function printTable(rows: Row[], cfg: BenchConfig): void {
  const out: string[] = [];
  const find = (scenario: string, target: string, run: number) =>
    rows.find((r) => r.scenario === scenario && r.target === target && r.run === run);
  const header = [
    'scenario',
    'target',
    'run',
    'clients',
    'deliveries',
    'lost',
    'deliv/s',
    'cpu µs/deliv',
    'cpu vs raw',
    'rate vs raw',
    'p50 ms',
    'p99 ms',
    'p99 vs raw',
    'rss MB',
  ];
  const lines = rows
    .filter((r) => ['1-', '2-', '4-'].some((p) => r.scenario.startsWith(p)))
    .map((r) => {
      const raw = find(r.scenario, 'raw-ws', r.run);
      return [
        r.scenario,
        r.target,
        String(r.run),
        fmt(r.clients),
        fmt(r.deliveries),
        fmt(r.lost),
        fmt(r.deliveriesPerSec),
        fmt(r.serverCpuUsPerDelivery, 3),
        raw ? ratio(r.serverCpuUsPerDelivery, raw.serverCpuUsPerDelivery) : '–',
        raw ? ratio(r.deliveriesPerSec, raw.deliveriesPerSec) : '–',
        fmt(r.p50Ms),
        fmt(r.p99Ms),
        raw ? ratio(r.p99Ms, raw.p99Ms) : '–',
        fmt(r.serverRssMB, 1),
      ];
    });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  out.push('', pad(header, widths), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map((l) => pad(l, widths)));

  for (const r of rows.filter((x) => x.scenario === '2-filtered')) {
    out.push(`2-filtered run ${r.run}: ${fmt(r.clients)} watches: ${fmt(r.serverCpuUsPerChange)} µs server CPU per change`);
  }
  for (const r of rows.filter((x) => x.scenario === '3-storm')) {
    out.push(
      `3-storm run ${r.run}: ${fmt(r.clients)} clients × 2 watches, source ${String(r.source)}, coalescing window ${fmt(r.coalesceWindowMs)} ms: all converged ${fmt(r.allConvergedMs, 0)} ms after the restart began ` +
        `(p50 ${fmt(r.p50Ms, 0)}, p99 ${fmt(r.p99Ms, 0)}; server listening again after ${fmt(r.restartToListenMs, 0)} ms); ` +
        `${fmt(r.snapshotRequests)} snapshot requests, ${fmt(r.sourceReads)} source reads (${fmt(r.coalescedReads)} coalesced), ${fmt(r.distinctParams)} distinct params; ` +
        `50 ms windows with a channel+params read twice: ${fmt(r.windowsOverTarget)}/${fmt(r.windows50ms)} (smallest gap between identical reads ${fmt(r.minGapBetweenIdenticalReadsMs)} ms); not converged: ${fmt(r.lost)}`,
      `  reconnects per 250 ms after the restart began: ${JSON.stringify(r.reconnectHistogram250ms)}`,
    );
  }
  for (const r of rows.filter(isResumeRow)) {
    out.push(
      `${r.scenario} run ${r.run}: resume ${r.resume ? 'on ' : 'off'}, ${fmt(r.sharePct)} % of the records changed: ${fmt(r.bytesFromServer)} B from the server ` +
        `(${fmt(r.bytesPerClient)} per client), ${fmt(r.sourceReads)} snapshot reads, ${fmt(r.resumes)} watches resumed, ${fmt(r.resumesRefused)} refused; ` +
        `all ${fmt(r.clients)} converged ${fmt(r.allConvergedMs, 0)} ms after the fault (p50 ${fmt(r.p50Ms, 0)}), every store equal to the truth: ${String(r.everyStoreEqualsTruth)}`,
    );
  }
  for (const [on, off] of resumePairs(rows)) {
    out.push(
      `${on.scenario} run ${on.run}, ${fmt(on.sharePct)} % changed: resume on ÷ off = ${pct(on.bytesFromServer, off.bytesFromServer)} of the bytes, ` +
        `${fmt(on.sourceReads)} vs ${fmt(off.sourceReads)} snapshot reads, converged after ${fmt(on.allConvergedMs, 0)} vs ${fmt(off.allConvergedMs, 0)} ms`,
    );
  }
  for (const r of rows.filter((x) => x.scenario === '5-store')) {
    out.push(
      `5-store run ${r.run}: ${fmt(r.listItems)}-item list ${fmt(r.listMs, 1)} ms; ${fmt(r.updatesPerSec)} item updates/s; ` +
        `getSnapshot unchanged: same array ${String(r.snapshotSameArray)}, ${fmt(r.snapshotNs)} ns/call, ${fmt(r.snapshotGcs)} GCs and ${fmt(r.snapshotHeapDeltaBytes)} B heap growth over 1,000,000 calls`,
      `  live views, ${fmt(r.viewsListItems)}-item list under two watches: store alone ${fmt(r.aloneUpdatesPerSec)} item updates/s (list ${fmt(r.aloneListMs, 1)} ms), ` +
        `with two live queries ${fmt(r.viewsUpdatesPerSec)}/s (list ${fmt(r.viewsListMs, 1)} ms): the views cost ${fmt(r.viewsCostRatio)}×`,
    );
  }
  for (const r of rows.filter((x) => x.scenario === '6-size')) {
    out.push(`6-size run ${r.run}: ${r.target} (${String(r.what)}): ${fmt(r.minifiedBytes)} B minified, ${fmt(r.gzipBytes)} B gzip -9`);
  }
  for (const r of rows.filter((x) => x.scenario === '7-memory')) {
    const raw = find('7-memory', 'raw-ws', r.run);
    out.push(
      `7-memory run ${r.run}: ${r.target}: ${fmt(r.rssKBPerConnection)} KB RSS and ${fmt(r.heapKBPerConnection)} KB heap per idle connection ` +
        `(${fmt(r.watchesPerConnection)} watches)` +
        (raw && r.target !== 'raw-ws'
          ? `, ${ratio(r.rssKBPerConnection as number, raw.rssKBPerConnection as number)} raw ws (heap ${ratio(r.heapKBPerConnection as number, raw.heapKBPerConnection as number)})`
          : ''),
    );
  }

  out.push('', 'targets (issue 7), per run:');
  const runs = [...new Set(rows.map((r) => r.run))];
  const verdict = (ok: boolean | undefined, text: string) => out.push(`  ${ok === undefined ? '?   ' : ok ? 'met ' : 'MISS'} ${text}`);
  for (const run of runs) {
    const m = find('1-fanout', 'monorail-ws', run);
    const raw = find('1-fanout', 'raw-ws', run);
    const sio = find('1-fanout', 'socket.io', run);
    if (m && raw && sio) {
      const c = m.serverCpuUsPerDelivery! / raw.serverCpuUsPerDelivery!;
      const s = m.serverCpuUsPerDelivery! / sio.serverCpuUsPerDelivery!;
      const t = m.deliveriesPerSec! / raw.deliveriesPerSec!;
      verdict(
        c <= 1.15,
        `run ${run} fan-out CPU/delivery ≤ 1.15× raw ws: ${c.toFixed(2)}×${c < 1 ? ' (stretch: below the naive raw baseline)' : ''}`,
      );
      verdict(s <= 0.8, `run ${run} fan-out CPU/delivery ≤ 0.8× Socket.IO: ${s.toFixed(2)}×`);
      verdict(t >= 0.9, `run ${run} fan-out deliveries/s ≥ 0.9× raw ws: ${t.toFixed(2)}×`);
    }
    for (const rate of cfg.rates) {
      const mr = find(`1-fanout-${rate}/s`, 'monorail-ws', run);
      const rr = find(`1-fanout-${rate}/s`, 'raw-ws', run);
      if (mr && rr) {
        const p = mr.p99Ms! / rr.p99Ms!;
        verdict(
          p <= 1.3,
          `run ${run} p99 at ${rate} changes/s ≤ 1.3× raw ws: ${p.toFixed(2)}× (${fmt(mr.p99Ms)} vs ${fmt(rr.p99Ms)} ms)${rate === 100 ? '' : ' (extra rate, below saturation)'}`,
        );
      }
    }
    const f = rows.filter((r) => r.scenario === '2-filtered' && r.run === run).sort((a, b) => a.clients! - b.clients!);
    if (f.length > 1) {
      const g = (f[f.length - 1]!.serverCpuUsPerChange as number) / (f[0]!.serverCpuUsPerChange as number);
      verdict(
        g <= 1.25,
        `run ${run} filtered: CPU per change at ${fmt(f[f.length - 1]!.clients)} watches vs ${fmt(f[0]!.clients)}: ${g.toFixed(2)}× (flat = does not grow)`,
      );
    }
    const st = rows.find((r) => r.scenario === '3-storm' && r.run === run && r.coalesceWindowMs !== 0);
    if (st)
      verdict(
        st.windowsOverTarget === 0 && st.lost === 0,
        `run ${run} storm: source reads ≤ distinct params in every 50 ms window (${fmt(st.windowsOverTarget)} over), every store converged`,
      );
    const drop1 = resumePairs(rows).find(([on]) => on.run === run && on.scenario === '3b-resume-drop');
    if (drop1) {
      const [on, off] = drop1;
      verdict(
        (on.bytesFromServer as number) <= 0.05 * (off.bytesFromServer as number) &&
          on.sourceReads === 0 &&
          on.everyStoreEqualsTruth === true,
        `run ${run} resume after a ${fmt(on.dropMs)} ms drop, ${fmt(on.sharePct)} % changed: ≤ 5 % of the bytes of re-snapshotting and 0 snapshot reads: ` +
          `${pct(on.bytesFromServer, off.bytesFromServer)}, ${fmt(on.sourceReads)} reads (off: ${fmt(off.sourceReads)}), every store equal to the truth`,
      );
    }
    const so = find('5-store', 'monorail-ws', run);
    if (so) {
      verdict((so.listMs as number) <= 100, `run ${run} store: ${fmt(so.listItems)}-item list ≤ 100 ms: ${fmt(so.listMs, 1)} ms`);
      verdict((so.updatesPerSec as number) >= 1e6, `run ${run} store: ≥ 1,000,000 item updates/s: ${fmt(so.updatesPerSec)}`);
      verdict(
        so.snapshotSameArray === true && so.snapshotGcs === 0,
        `run ${run} store: getSnapshot() unchanged is O(1) with no allocation`,
      );
      verdict(
        (so.viewsCostRatio as number) <= 1.5,
        `run ${run} store: two live queries cost ≤ 1.5× the store alone (item updates): ${fmt(so.viewsCostRatio)}×`,
      );
    }
    const sz = find('6-size', 'monorail-ws', run);
    if (sz) verdict((sz.gzipBytes as number) <= 3072, `run ${run} client size ≤ 3.0 KB (3,072 B): ${fmt(sz.gzipBytes)} B`);
    const mm = find('7-memory', 'monorail-ws', run);
    const mraw = find('7-memory', 'raw-ws', run);
    if (mm && mraw) {
      const q = (mm.rssKBPerConnection as number) / (mraw.rssKBPerConnection as number);
      const h = (mm.heapKBPerConnection as number) / (mraw.heapKBPerConnection as number);
      verdict(q <= 1.3, `run ${run} memory per idle connection (2 watches) ≤ 1.3× raw ws: ${q.toFixed(2)}× RSS (heap ${h.toFixed(2)}×)`);
    }
    const lost = rows.filter((r) => r.run === run && r.lost !== 0);
    verdict(
      lost.length === 0,
      `run ${run} lost = 0 in every row${lost.length ? ` (not in ${lost.map((r) => `${r.scenario}/${r.target}`).join(', ')})` : ''}`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}
