/**
 * Fault convergence on RackHD's backends, as deployed: MongoDB (the wire-level test server in its own process, so
 * the truth outlives every server process) and RabbitMQ. A writer changes MongoDB continuously through the official
 * driver — creates, replacements, updates that move nodes in and out of watch filters (type, SKU reference), deletes
 * — and publishes RackHD's waterline event for each change; the server runs as a process with `--mongo`, `--amqp`
 * and a per-run `--exchange-prefix`; six clients (overlapping watches) reach it each through its own TCP proxy.
 *
 * Faults, in rounds, while the writer writes: (1) the server process SIGKILLed and restarted on its port, (2) its
 * RabbitMQ connection closed by the broker (`rabbitmqctl close_connection` of `monorail-ws <instance>`), (3) one
 * client's socket reset without a close frame, (4) MongoDB stopped while every client reconnects, and resumed. After each round the writer pauses and every client's store must equal what
 * the driver reads from MongoDB: 0 divergent items, the same item count and bytes. Serial (runs alone, after every
 * other file): it closes broker connections. The default run does each kind once; FAULT_ROUNDS runs more,
 * FAULT_SEED replays a run, FAULT_REPORT=1 prints the figures. Counts and bytes are asserted, never durations.
 *
 * The whole run is made twice: server processes without and with `--resume` (positions from this run's RabbitMQ
 * stream, `<prefix>monorail-ws.changes`, deleted at the end). Convergence is the invariant in both; the path differs,
 * and each round asserts it (`expectPath`):
 * - resume off: (1), (3) and (4) re-list every watch of the clients that reconnected, (4) after `source-unavailable`
 *   for every client;
 * - resume on, (1) server killed: the new process reads the stream back before it listens, so every watch resumes
 *   from its position on the new process — no list;
 * - resume on, (2) broker connection closed: as without resume, every watch is re-listed: the stream was read on
 *   that connection, RackHD's writes while it was away may never have been published, so histories are cut there;
 * - resume on, (3) one socket dropped: that client's watches resume, no list;
 * - resume on, (4) MongoDB stopped: a client that resumes needs no snapshot, so MongoDB being down refuses nothing —
 *   no `source-unavailable`, no list, every watch resumed while MongoDB is still down.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
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
import { brokerConnectionClosed, mongoStopped, MongoTruth } from './support/faults/mongo-truth.js';
import { describeRabbit } from './support/services.js';

const oneSocketDropped = clientSocketsDropped('one');
const FAULTS: readonly Fault<MongoTruth>[] = [serverKilled, brokerConnectionClosed, oneSocketDropped, mongoStopped];
const ROUNDS = Number(process.env.FAULT_ROUNDS ?? FAULTS.length);
const SEED = Number(process.env.FAULT_SEED ?? 20_261_127);
/** Writes made after each fault before the writer pauses, so changes land while clients and links recover. */
const WRITES_PER_ROUND = 150;

const TYPES = ['compute', 'switch', 'pdu'];
const STATUS = ['pending', 'running', 'succeeded', 'failed'];
/** RackHD ids are ObjectIds (24 hex digits); a node's `sku` references a SKU by id. */
const oid = (prefix: string, n: number) => `${prefix}${n.toString(16).padStart(24 - prefix.length, '0')}`;
const SKU_A = oid('5a', 1);
const SKU_B = oid('5b', 2);
const NODE_IDS = 60;
const WORKFLOW_IDS = 15;

const WATCHERS: readonly WatcherSpec[] = [
  { name: 'all nodes', channel: 'nodes', watches: [{}] },
  { name: 'compute nodes', channel: 'nodes', watches: [{ type: 'compute' }] },
  { name: 'nodes of SKU A', channel: 'nodes', watches: [{ sku: SKU_A }] },
  { name: 'switches and nodes of SKU B', channel: 'nodes', watches: [{ type: 'switch' }, { sku: SKU_B }] },
  { name: 'all workflows', channel: 'workflows', watches: [{}] },
  { name: 'running workflows', channel: 'workflows', watches: [{ _status: 'running' }] },
];
const WATCHES = WATCHERS.reduce((n, w) => n + w.watches.length, 0);

function seedData(): Record<string, Doc[]> {
  return {
    nodes: Array.from({ length: 30 }, (_, i) => ({
      id: oid('6a', i),
      name: `n${i}`,
      type: TYPES[i % 3]!,
      sku: i % 2 ? SKU_A : SKU_B,
      rev: 0,
    })),
    workflows: Array.from({ length: 6 }, (_, i) => ({ instanceId: `wf-${i}`, _status: 'pending', rev: 0 })),
  };
}

/** RackHD-like churn: nodes discovered, re-typed, re-SKUed, renamed and removed; workflows changing status. */
function changes(random: () => number): () => Write {
  let rev = 0;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  return (): Write => {
    rev++;
    if (random() < 0.2) {
      const instanceId = `wf-${Math.floor(random() * WORKFLOW_IDS)}`;
      if (random() < 0.5) return { op: 'update', channel: 'workflows', id: instanceId, set: { _status: pick(STATUS), rev } };
      return { op: 'upsert', channel: 'workflows', doc: { instanceId, _status: pick(STATUS), rev } };
    }
    const id = oid('6a', Math.floor(random() * NODE_IDS));
    const r = random();
    if (r < 0.15) return { op: 'remove', channel: 'nodes', id };
    if (r < 0.35) return { op: 'update', channel: 'nodes', id, set: { type: pick(TYPES), rev } };
    if (r < 0.5) return { op: 'update', channel: 'nodes', id, set: { sku: pick([SKU_A, SKU_B, null]), rev } };
    const doc: Doc = { id, name: `n${rev}`, type: pick(TYPES), rev };
    if (random() < 0.7) doc.sku = pick([SKU_A, SKU_B]);
    return { op: 'upsert', channel: 'nodes', doc };
  };
}

for (const resume of [false, true]) {
  await describeRabbit(`fault convergence on MongoDB and RabbitMQ (serial, resume ${resume ? 'on' : 'off'})`, () => {
    let run: FaultRun<MongoTruth>;

    beforeAll(async () => {
      run = await startFaultRun(await MongoTruth.start(seedData(), { resume }), WATCHERS, changes(prng(SEED)));
    }, 30_000);

    afterAll(async () => {
      await run?.dispose();
    });

    it(
      `after each of ${ROUNDS} rounds of faults under continuous writes, every client's store equals MongoDB`,
      async () => {
        await run.converged(15_000, 'initial convergence');
        const report: RoundReport[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const fault = FAULTS[round % FAULTS.length]!;
          const r = await run.runRound(fault, { writesAfterFault: WRITES_PER_ROUND, convergeTimeoutMs: 20_000 });
          report.push(r);
          expectConverged(r, `round ${round}: ${fault.name}`);
          expect({ items: r.items, bytes: r.bytes }).toEqual({ items: r.expectedItems, bytes: r.expectedBytes });
          expect(r.writes).toBeGreaterThanOrEqual(WRITES_PER_ROUND);
          // The server process survived every fault but its own killing.
          expect(run.server.proc.exitCode).toBeNull();
          expectPath(resume, fault, r);
        }

        // Every fault kind ran (unless FAULT_ROUNDS asked for fewer rounds than kinds).
        for (const f of FAULTS.slice(0, ROUNDS)) expect(report.filter((r) => r.fault === f.name).length, f.name).toBeGreaterThanOrEqual(1);
        // The writer created, updated and destroyed records, and the truth is not trivial.
        const { created, updated, destroyed } = run.truth.published;
        expect(Math.min(created, updated, destroyed)).toBeGreaterThan(0);
        expect((await run.truth.docs('nodes')).length).toBeGreaterThan(10);
        if (process.env.FAULT_REPORT) {
          process.stdout.write(
            `faults: ${JSON.stringify({ resume, seed: SEED, published: run.truth.published, rounds: report.map(({ clients: _c, ...r }) => r) })}\n`,
          );
        }
      },
      60_000 + ROUNDS * 40_000,
    );
  });
}

/** What each round must have taken as its path, besides converging (see the module comment). */
function expectPath(resume: boolean, fault: Fault<MongoTruth>, r: RoundReport): void {
  const path = { lists: r.lists, resumed: r.resumed, ...r.evidence };
  if (fault === brokerConnectionClosed) {
    // Changes were published while the server had no queue, and every watch was re-snapshotted after the rebind
    // (with resume too: the stream was read on that connection, and positions from before the gap are cut).
    expect(r.evidence.writesWhileDisconnected, fault.name).toBeGreaterThan(0);
    expect(r.lists, fault.name).toBeGreaterThanOrEqual(WATCHES);
  } else if (!resume) {
    // Every reconnect costs a list per watch; with MongoDB down, each client's reconnect snapshot was refused first.
    expect(r.lists, fault.name).toBeGreaterThanOrEqual(fault === oneSocketDropped ? 1 : WATCHES);
    expect(r.resumed, fault.name).toBe(0);
    if (fault === mongoStopped) expect(r.evidence.sourceUnavailable).toBeGreaterThanOrEqual(WATCHERS.length);
  } else if (fault === serverKilled) {
    // A new process resumes from the shared stream: it read it back before listening, at the same offsets.
    expect(path, fault.name).toMatchObject({ lists: 0, resumed: WATCHES });
  } else if (fault === mongoStopped) {
    // No snapshot is needed, so MongoDB being down refuses nothing: every watch resumes, no list, no error.
    expect(path, fault.name).toMatchObject({ lists: 0, resumed: WATCHES, sourceUnavailable: 0 });
  } else {
    // The one client whose socket dropped (a different one each round) resumed each of its watches.
    expect(path, fault.name).toMatchObject({ lists: 0, resumed: WATCHERS[r.round % WATCHERS.length]!.watches.length });
  }
}
