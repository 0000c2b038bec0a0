/**
 * Scenario 2: filtered watches. Each connection watches one node (`{node: id}`); a change matches one or two of
 * them, and a share of the changes moves a record to another node. The server's CPU per change must not grow
 * with the watches that do not match.
 */
import { injectAndWait, measured, merge, WARMUP } from './deliveries.js';
import { type Bench, round, split, startLoads, startServer, stopAll } from './harness.js';

/** Scenario 2: one `{node: id}` watch per connection; CPU per change must not grow with the watches that do not match. */
export async function filtered(bench: Bench, run: number, watches: number): Promise<void> {
  const { cfg, emitRow } = bench;
  const changes = cfg.filteredChanges;
  const f = { nodes: watches, perNode: 2, changes: WARMUP + changes, moveShare: 0.1 };
  const { child: server, port } = await startServer({
    target: 'monorail-ws',
    scenario: 'filtered',
    payloadBytes: cfg.payloadBytes,
    filtered: f,
  });
  const loads = await startLoads(cfg.loadProcs);
  try {
    const url = `ws://127.0.0.1:${port}`;
    const parts = split(watches, loads.length);
    await Promise.all(
      parts.map(([lo, hi], i) => loads[i]!.request('connect', { mode: 'filtered', target: 'monorail-ws', url, lo, hi }, 300_000)),
    );
    const lo = parts.map(([l]) => l);
    await injectAndWait(server, loads, { from: 0, count: WARMUP, lo, filtered: f });
    const result = await injectAndWait(server, loads, { from: WARMUP, count: changes, lo, filtered: f });
    const m = merge(result.reports);
    emitRow({
      scenario: '2-filtered',
      target: 'monorail-ws',
      run,
      clients: watches,
      events: changes,
      ...measured(result, m),
      serverCpuUsPerChange: round(result.cpuUs / changes, 2),
      disorder: m.disorder,
    });
  } finally {
    await stopAll(server, loads);
  }
}
