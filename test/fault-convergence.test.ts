/**
 * Fault convergence on the embedded memory backend: a writer changes the truth (kept in the test process and fed
 * to each server process over IPC) continuously while faults are injected in rounds; after each round every
 * client's store must equal the truth (filtered by its watches) exactly — the number of divergent items must be 0.
 * Faults: the server process killed (SIGKILL) and restarted on its port, and every client's socket dropped without
 * a close frame. The same harness on MongoDB and RabbitMQ, with broker and database faults too, is
 * fault-convergence-backends.serial.test.ts.
 *
 * The whole run is made twice, with the server's `resume` off and on. Convergence (0 divergent items, the same
 * bytes) is the invariant in both; the path each round takes is asserted too:
 * - resume off: every fault re-lists every watch (at least one `list` per watch), nothing is resumed;
 * - resume on, server killed: the new process has another epoch (the history died with the old one), so every
 *   position gets a full `list` — the same path as without resume;
 * - resume on, sockets dropped: the clients come back to the same process, and every watch resumes from its last
 *   position — one `resumed` per watch and not a single `list`, although writes went on during the drop.
 * The default run does each kind twice; FAULT_ROUNDS runs more, FAULT_SEED replays a run. Counts are asserted,
 * never durations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Doc } from '../protocol/index.js';
import {
  clientSocketsDropped,
  expectConverged,
  prng,
  serverKilled,
  startFaultRun,
  type Fault,
  type FaultRun,
  type RoundReport,
  type WatcherSpec,
  type Write,
} from './support/faults/harness.js';
import { MemoryTruth } from './support/faults/memory-truth.js';

const FAULTS: readonly Fault[] = [serverKilled, clientSocketsDropped('all')];
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

/** Creates, replaces and updates (type changes move nodes between watches) and removes records. */
function changes(random: () => number): () => Write {
  let rev = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return (): Write => {
    rev++;
    if (random() < 0.25)
      return { op: 'upsert', channel: 'workflows', doc: { instanceId: `wf-${Math.floor(random() * 10)}`, _status: pick(STATUS), rev } };
    const id = `node-${Math.floor(random() * 30)}`;
    const r = random();
    if (r < 0.2) return { op: 'remove', channel: 'nodes', id };
    if (r < 0.5) return { op: 'update', channel: 'nodes', id, set: { type: pick(TYPES), rev } };
    return { op: 'upsert', channel: 'nodes', doc: { id, name: `n${rev}`, type: pick(TYPES), rev } };
  };
}

const WATCHERS: readonly WatcherSpec[] = [
  { name: 'all nodes', channel: 'nodes', watches: [{}] },
  { name: 'compute nodes', channel: 'nodes', watches: [{ type: 'compute' }] },
  { name: 'switches and a few names', channel: 'nodes', watches: [{ type: 'switch' }, { name: { $in: ['n1', 'n2', 'n3'] } }] },
  { name: 'all workflows', channel: 'workflows', watches: [{}] },
  { name: 'running workflows', channel: 'workflows', watches: [{ _status: 'running' }] },
];
const WATCHES = WATCHERS.reduce((n, w) => n + w.watches.length, 0);

describe.each([
  { resume: false, label: 'resume off' },
  { resume: true, label: 'resume on' },
])('fault convergence (memory backend, $label)', ({ resume }) => {
  let run: FaultRun<MemoryTruth>;

  beforeAll(async () => {
    run = await startFaultRun(new MemoryTruth(seedData(), resume ? { resume: true } : {}), WATCHERS, changes(prng(SEED)));
  }, 30_000);

  afterAll(async () => {
    await run?.dispose();
  });

  it(
    `after each of ${ROUNDS} rounds of faults under continuous writes, every client's store equals the truth`,
    async () => {
      await run.converged(15_000, 'initial convergence');
      const report: RoundReport[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const fault = FAULTS[round % FAULTS.length]!;
        const r = await run.runRound(fault, { writesAfterFault: WRITES_PER_ROUND, convergeTimeoutMs: 20_000 });
        report.push(r);
        expectConverged(r, `round ${round}: ${fault.name}`);
        expect(r.bytes).toBe(r.expectedBytes);
        // The path: without resume every watch is re-listed. With it, a killed process is another epoch (its
        // history died with it), so every watch is re-listed too; a dropped socket comes back to the same process,
        // and every watch resumes from its position — no list at all.
        if (resume && fault !== serverKilled)
          expect({ lists: r.lists, resumed: r.resumed }, fault.name).toEqual({ lists: 0, resumed: WATCHES });
        else expect({ relisted: r.lists >= WATCHES, resumed: r.resumed }, fault.name).toEqual({ relisted: true, resumed: 0 });
      }

      // Every fault kind ran, changes landed in every round, and every client went through every fault.
      for (const f of FAULTS.slice(0, ROUNDS)) expect(report.filter((r) => r.fault === f.name).length).toBeGreaterThanOrEqual(1);
      for (const r of report) {
        expect(r.writes).toBeGreaterThanOrEqual(WRITES_PER_ROUND);
        expect(r.reconnected).toBe(run.watchers.length);
      }
      // The truth is not trivial: records were created, moved between watches and removed.
      expect((await run.truth.docs('nodes')).length).toBeGreaterThan(5);
      if (process.env.FAULT_REPORT)
        process.stdout.write(
          `faults (${resume ? 'resume on' : 'resume off'}): ${JSON.stringify(report.map(({ clients: _c, ...r }) => r))}\n`,
        );
    },
    60_000 + ROUNDS * 30_000,
  );
});
