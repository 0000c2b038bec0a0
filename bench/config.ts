/**
 * Sizes and rates of `npm run bench`, each overridable with an environment variable. The defaults are the
 * issue's (1,000 watchers, 2,000 changes, 300-byte payloads …) and keep a whole run under 10 minutes on a
 * 2-core machine.
 */
function int(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number >= 0, got "${text}"`);
  return n;
}

function list(name: string, fallback: number[]): number[] {
  const text = process.env[name];
  return text ? text.split(',').map((t) => Number(t.trim())) : fallback;
}

export interface BenchConfig {
  /** Scenarios to run (BENCH_SCENARIOS=fanout,filtered,storm,resume,amqp,store,size,memory). */
  scenarios: string[];
  /** Targets of the comparative scenarios (BENCH_TARGETS=monorail-ws,raw-ws,socket.io). */
  targets: string[];
  /** Every scenario this many times (BENCH_REPEAT), to show run-to-run noise. */
  repeat: number;
  /** Load processes per scenario (the client side, separate from the server). */
  loadProcs: number;
  /** Scenario 1 and 4: watchers, changes, payload bytes. */
  watchers: number;
  changes: number;
  payloadBytes: number;
  /** Scenario 1: changes in flight at most (flow control, so nothing piles up in memory at full speed). */
  window: number;
  /** Scenario 1: fixed rates (changes/s) of the latency runs (scenario 4 uses the first), each for `rateSeconds`. */
  rates: number[];
  rateSeconds: number;
  /** Scenario 2: watch counts, changes, share of changes that move a record to another node. */
  filteredWatches: number[];
  filteredChanges: number;
  /** Scenario 3: clients (2 watches each), nodes in the source, source: `mongo` (wire server) or `memory`. */
  stormClients: number;
  stormNodes: number;
  stormSource: string;
  /** Scenario 3: the server's coalescing windows to compare (ms; 0 = only reads in flight are shared). */
  stormWindows: number[];
  /** Scenario 3b/3c (resume): clients (2 watches each, on `stormNodes` records). */
  resumeClients: number;
  /** Scenario 3b: percentages of the records changed during each drop (3c uses the first). */
  resumeShares: number[];
  /** Scenario 3b: how long the network is away (ms). */
  resumeDropMs: number;
  /** Scenario 5: list size, item updates. */
  storeList: number;
  storeUpdates: number;
  /** Scenario 7: idle connections. */
  idleConnections: number;
  /** RabbitMQ for scenario 4. */
  amqpUrl: string;
  /** Scenario 7: write heap snapshots of each server before and after the connections (to bench/.profiles). */
  heapSnapshot: boolean;
  /** Write a V8 CPU profile of the monorail-ws server of scenario 1 (max speed) to bench/.profiles. */
  profile: boolean;
}

export function benchConfig(): BenchConfig {
  return {
    scenarios: (process.env.BENCH_SCENARIOS ?? 'fanout,filtered,storm,resume,amqp,store,size,memory').split(',').map((s) => s.trim()),
    targets: (process.env.BENCH_TARGETS ?? 'monorail-ws,raw-ws,socket.io').split(',').map((s) => s.trim()),
    repeat: int('BENCH_REPEAT', 1),
    loadProcs: int('BENCH_LOAD_PROCS', 2),
    watchers: int('BENCH_WATCHERS', 1000),
    changes: int('BENCH_CHANGES', 2000),
    payloadBytes: int('BENCH_PAYLOAD', 300),
    window: int('BENCH_WINDOW', 32),
    rates: list('BENCH_RATES', [100, 25]),
    rateSeconds: int('BENCH_RATE_SECONDS', 5),
    filteredWatches: list('BENCH_FILTERED', [100, 1000, 5000]),
    filteredChanges: int('BENCH_FILTERED_CHANGES', 2000),
    stormClients: int('BENCH_STORM_CLIENTS', 2000),
    stormNodes: int('BENCH_STORM_NODES', 400),
    stormSource: process.env.BENCH_STORM_SOURCE ?? 'mongo',
    stormWindows: list('BENCH_STORM_WINDOWS', [50, 0]),
    resumeClients: int('BENCH_RESUME_CLIENTS', 2000),
    resumeShares: list('BENCH_RESUME_SHARES', [1, 10, 50]),
    resumeDropMs: int('BENCH_RESUME_DROP_MS', 1000),
    storeList: int('BENCH_STORE_LIST', 100_000),
    storeUpdates: int('BENCH_STORE_UPDATES', 1_000_000),
    idleConnections: int('BENCH_IDLE', 2000),
    amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    heapSnapshot: process.env.BENCH_HEAPSNAPSHOT === '1',
    profile: process.env.BENCH_PROFILE === '1',
  };
}
