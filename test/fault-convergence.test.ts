/**
 * Fault convergence: a writer changes the truth continuously while faults are injected in rounds; after each
 * round every client's store must equal the truth (filtered by its watches) exactly — the number of divergent
 * items must be 0. Faults available without the MongoDB/RabbitMQ backends: the server process killed (SIGKILL) and
 * restarted from the truth, and every client's socket dropped without a close frame. The default run does each
 * kind twice; FAULT_ROUNDS runs more, FAULT_SEED replays a run. Counts are asserted, never durations.
 */
import WebSocket from 'isomorphic-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from '../client/index.js';
import type { Doc } from '../protocol/index.js';
import {
  clientSocketsDropped,
  divergence,
  faultContext,
  MemoryTruth,
  prng,
  serverKilled,
  Writer,
  type Fault,
  type FaultContext,
  type Watcher,
  type Write,
} from './fault-harness.js';
import { waitFor } from './helpers.js';

const FAULTS: readonly Fault[] = [serverKilled, clientSocketsDropped];
const ROUNDS = Number(process.env.FAULT_ROUNDS ?? 2 * FAULTS.length);
const SEED = Number(process.env.FAULT_SEED ?? 20_261_126);
/** Writes made after each fault before the writer pauses, so changes land during the reconnects. */
const WRITES_PER_ROUND = 150;

const TYPES = ['compute', 'switch', 'pdu'];
const STATUS = ['pending', 'running', 'succeeded', 'failed'];

function seedData(): Record<string, Doc[]> {
  return {
    nodes: Array.from({ length: 20 }, (_, i) => ({ id: `node-${i}`, name: `n${i}`, type: TYPES[i % 3]!, rev: 0 })),
    workflows: Array.from({ length: 6 }, (_, i) => ({ instanceId: `wf-${i}`, _status: 'pending', rev: 0 })),
  };
}

/** Creates, updates (including type changes that move nodes between watches) and removes records. */
function changes(random: () => number): () => Write {
  let rev = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return (): Write => {
    rev++;
    if (random() < 0.25) return { op: 'upsert', channel: 'workflows', doc: { instanceId: `wf-${Math.floor(random() * 10)}`, _status: pick(STATUS), rev } };
    const id = `node-${Math.floor(random() * 30)}`;
    if (random() < 0.2) return { op: 'remove', channel: 'nodes', id };
    return { op: 'upsert', channel: 'nodes', doc: { id, name: `n${rev}`, type: pick(TYPES), rev } };
  };
}

let ctx: FaultContext & { dispose(): Promise<void> };
const watchers: Watcher[] = [];

beforeAll(async () => {
  ctx = await faultContext(new MemoryTruth(seedData()));
  const url = (channel: string) => `ws://127.0.0.1:${ctx.proxy.port}/${channel}`;
  const make = (name: string, channel: string, watches: Watcher['watches']): void => {
    const connection = new Connection(url(channel), { WebSocket, backoff: { baseMs: 10, maxMs: 100 }, heartbeat: false });
    for (const p of watches) connection.watch(p);
    watchers.push({ name, channel, connection, watches });
  };
  make('all nodes', 'nodes', [{}]);
  make('compute nodes', 'nodes', [{ type: 'compute' }]);
  make('switches and a few names', 'nodes', [{ type: 'switch' }, { name: { $in: ['n1', 'n2', 'n3'] } }]);
  make('all workflows', 'workflows', [{}]);
  make('running workflows', 'workflows', [{ _status: 'running' }]);
}, 30_000);

afterAll(async () => {
  for (const w of watchers) w.connection.disconnect();
  await ctx?.dispose();
});

function totalDivergence(): number {
  return watchers.reduce((n, w) => {
    const d = divergence(w, ctx.truth);
    return n + d.missing + d.extra + d.different;
  }, 0);
}

describe('fault convergence', () => {
  it(`after each of ${ROUNDS} rounds of faults under continuous writes, every client's store equals the truth`, async () => {
    const writer = new Writer(ctx.truth, changes(prng(SEED)));
    await waitFor(() => watchers.every((w) => w.connection.state === 'open') && totalDivergence() === 0, 15_000, 'initial convergence');
    const report: Array<{ fault: string; writes: number; reconnected: number; divergent: number }> = [];

    for (let round = 0; round < ROUNDS; round++) {
      const fault = FAULTS[round % FAULTS.length]!;
      const sessions = watchers.map((w) => w.connection.sessionId);
      writer.start();
      const writesBefore = writer.writes;
      await fault.inject(ctx);
      // Keep writing while clients reconnect and re-snapshot.
      await waitFor(() => writer.writes - writesBefore >= WRITES_PER_ROUND, 30_000, 'writes after the fault');
      await writer.pause();
      try {
        await waitFor(
          () => watchers.every((w, i) => w.connection.state === 'open' && w.connection.sessionId !== undefined && w.connection.sessionId !== sessions[i]) && totalDivergence() === 0,
          20_000,
          `convergence after "${fault.name}"`,
        );
      } catch {
        // Fall through to the assertion, which names the divergent items per client.
      }
      const divergent = watchers.map((w) => ({ client: w.name, state: w.connection.state, ...divergence(w, ctx.truth) }));
      expect(divergent.filter((d) => d.missing + d.extra + d.different > 0 || d.state !== 'open'), `round ${round}: ${fault.name}`).toEqual([]);
      report.push({
        fault: fault.name,
        writes: writer.writes - writesBefore,
        reconnected: watchers.filter((w, i) => w.connection.sessionId !== sessions[i]).length,
        divergent: totalDivergence(),
      });
    }

    // Every fault kind ran, changes landed in every round, and every client went through every fault.
    for (const f of FAULTS) expect(report.filter((r) => r.fault === f.name).length).toBeGreaterThanOrEqual(1);
    for (const r of report) {
      expect(r.writes).toBeGreaterThanOrEqual(WRITES_PER_ROUND);
      expect(r.reconnected).toBe(watchers.length);
      expect(r.divergent).toBe(0);
    }
    // The truth is not trivial: records were created, moved between watches and removed.
    expect(ctx.truth.docs('nodes').length).toBeGreaterThan(5);
    if (process.env.FAULT_REPORT) process.stdout.write(`faults: ${JSON.stringify(report)}\n`);
  }, 60_000 + ROUNDS * 30_000);
});
