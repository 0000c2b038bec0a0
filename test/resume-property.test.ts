/**
 * Resume, as a property: on a real server (`createServer`, the embedded backend, `resume` on) and the real SDK behind
 * a TCP proxy, a random sequence of changes — creates, updates that move records in and out of filtered watches,
 * deletes — is interleaved with random disconnect points (the proxy resets the client's connection without a close
 * frame, as a network does) and random turns of the event loop, so changes land before, during and after each
 * reconnect and its resume; a `settle` step waits until the client is back and ready, so the next drop cuts a resumed
 * session. One connection holds 1–3 overlapping watches (live queries). Once the writes stop and
 * the client is ready again, its store and each view must equal a fresh snapshot: a second client that watches the
 * same filters without positions (byId equality), and the backend's own read. Some runs keep a history so short that
 * resume must fall back to a full `list`: both paths must give the same store.
 *
 * A second property sends positions no server could resume from — malformed text, non-string values, a position
 * from the future, one of another channel, one of another epoch (another server's) — and gets a full `list` equal to
 * the snapshot, never an `error`.
 *
 * A real server rather than the hub with a fake socket: a run costs ~30 ms here, so the default 60 runs take a few
 * seconds. RESUME_PROPERTY_RUNS runs more; fast-check prints the seed and path of a failure to replay it.
 */
import fc from 'fast-check';
import WebSocket from 'isomorphic-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection, type LiveQuery } from '../client/index.js';
import type { Doc, Filter, Params, ServerMessage } from '../protocol/index.js';
import { createServer, type MonorailServer } from '../server/index.js';
import { RawClient } from './support/raw-client.js';
import { byId } from './support/records.js';
import { TcpProxy } from './support/tcp-proxy.js';
import { waitFor } from './support/wait.js';

const RUNS = Number(process.env.RESUME_PROPERTY_RUNS ?? 60);
const TYPES = ['compute', 'switch', 'pdu'] as const;
const RACKS = ['r1', 'r2'] as const;
const IDS = 8;

/** Filters that overlap one another; records move in and out of each with their type, rack and rev. */
const FILTERS: readonly Filter<Doc>[] = [
  {},
  { type: 'compute' },
  { type: { $in: ['switch', 'pdu'] } },
  { rack: 'r1' },
  { type: 'compute', rack: 'r2' },
  { rev: { $gte: 5 } },
];

type Op =
  | { readonly kind: 'upsert'; readonly id: number; readonly type: number; readonly rack: number }
  | { readonly kind: 'remove'; readonly id: number }
  | { readonly kind: 'drop' }
  | { readonly kind: 'yield' }
  | { readonly kind: 'settle' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('upsert' as const), id: fc.nat(IDS - 1), type: fc.nat(2), rack: fc.nat(1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('remove' as const), id: fc.nat(IDS - 1) }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'drop' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'yield' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'settle' as const }) },
);

const scenarioArb = fc.record({
  seed: fc.array(fc.record({ id: fc.nat(IDS - 1), type: fc.nat(2), rack: fc.nat(1) }), { maxLength: IDS }),
  watches: fc.uniqueArray(fc.nat(FILTERS.length - 1), { minLength: 1, maxLength: 3 }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 40 }),
  // Mostly a history that covers every change; sometimes one so short that resume must give a full list.
  historyEntries: fc.oneof({ weight: 4, arbitrary: fc.constant(10_000) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }),
});

const node = (id: number, type: number, rack: number, rev: number): Doc => ({
  id: `n${id}`,
  name: `node ${id}`,
  type: TYPES[type]!,
  rack: RACKS[rack]!,
  rev,
});

const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Sends a `ping` on the connection's socket and waits for its `pong`: every frame sent before it was applied. */
async function barrier(c: Connection): Promise<void> {
  const pong = new Promise((resolve) => c.events.once('pong', resolve));
  c.wsConn!.send(JSON.stringify({ handler: 'ping' }));
  await pong;
}

/** Every view of `c` ready in a session newer than `session` (or any, when undefined), then a barrier. */
async function settled(c: Connection, views: readonly LiveQuery<Doc>[], sessions: () => number, after: number): Promise<void> {
  await waitFor(
    () => c.state === 'open' && sessions() > after && views.every((v) => v.getSnapshot().status === 'ready'),
    10_000,
    'the client to be open and every view ready again',
  );
  await barrier(c);
}

const totals = { runs: 0, drops: 0, resumes: 0, refused: 0 };

describe('resume against a fresh snapshot (property, real server)', () => {
  it(
    `after random changes and disconnect points, the store equals a fresh snapshot (${RUNS} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async ({ seed, watches, ops, historyEntries }) => {
          const initial = new Map(seed.map((s) => [s.id, node(s.id, s.type, s.rack, 0)]));
          const server = await createServer({
            port: 0,
            seed: { nodes: [...initial.values()] },
            resume: { historyEntries, progressIntervalMs: 0 },
          });
          const proxy = await TcpProxy.start(server.port);
          const filters = watches.map((w) => FILTERS[w]!);
          const client = new Connection<Doc>(`ws://127.0.0.1:${proxy.port}/nodes`, {
            WebSocket,
            backoff: { baseMs: 1, maxMs: 5 },
            heartbeat: false,
          });
          let sessions = 0;
          client.events.on('session', () => sessions++);
          const errors: string[] = [];
          // Socket errors are the drops themselves (a reset during a handshake); the server must never refuse anything.
          client.events.on('error', (e) => {
            if (e.kind === 'server') errors.push(e.code);
          });
          const fresh = new Connection<Doc>(`${server.url}/nodes`, { WebSocket, heartbeat: false });
          try {
            const views = filters.map((p) => client.live(p));
            await settled(client, views, () => sessions, 0);
            let rev = 0;
            let drops = 0;
            let sessionsAtDrop = 1;
            for (const op of ops) {
              if (op.kind === 'upsert') server.backend!.upsert('nodes', node(op.id, op.type, op.rack, ++rev));
              else if (op.kind === 'remove') server.backend!.remove('nodes', `n${op.id}`);
              else if (op.kind === 'yield') await nextTurn();
              else if (op.kind === 'settle') await settled(client, views, () => sessions, drops > 0 ? sessionsAtDrop : 0);
              else if (proxy.dropAll() > 0) {
                drops++;
                sessionsAtDrop = sessions;
              }
            }
            await settled(client, views, () => sessions, drops > 0 ? sessionsAtDrop : 0);

            const freshViews = filters.map((p) => fresh.live(p));
            await settled(fresh, freshViews, () => 1, 0);
            expect(byId([...client.store.getSnapshot()])).toEqual(byId([...fresh.store.getSnapshot()]));
            views.forEach((v, i) => {
              expect(byId([...v.getSnapshot().data]), `view ${JSON.stringify(filters[i])}`).toEqual(
                byId([...freshViews[i]!.getSnapshot().data]),
              );
              expect(byId([...v.getSnapshot().data])).toEqual(byId(server.backend!.read('nodes', filters[i] as Params, 100)));
            });
            expect(errors).toEqual([]);
            const stats = server.hub.stats();
            totals.runs++;
            totals.drops += drops;
            totals.resumes += stats.resumes;
            totals.refused += stats.resumesRefused;
          } finally {
            client.disconnect();
            fresh.disconnect();
            await proxy.close();
            await server.close();
          }
        }),
        {
          numRuns: RUNS,
          examples: [
            // Found by this property: a watch resumed after another sent only the changes where it altered their
            // decision, so an older change of a record went after a newer one, and the store kept the older.
            [
              {
                seed: [],
                watches: [4, 0],
                ops: [{ kind: 'upsert', id: 0, type: 0, rack: 0 }, { kind: 'drop' }, { kind: 'upsert', id: 0, type: 0, rack: 1 }],
                historyEntries: 10_000,
              },
            ],
            // The fallback, always: four changes while the client is away and a history of one entry, so the
            // position it comes back with was trimmed and its watch gets a full list (the random runs reach this only
            // by chance, which `totals.refused` below must not depend on).
            [
              {
                seed: [{ id: 0, type: 0, rack: 0 }],
                watches: [0],
                ops: [
                  { kind: 'drop' },
                  { kind: 'upsert', id: 1, type: 0, rack: 0 },
                  { kind: 'upsert', id: 2, type: 1, rack: 1 },
                  { kind: 'remove', id: 0 },
                  { kind: 'upsert', id: 3, type: 2, rack: 0 },
                ],
                historyEntries: 1,
              },
            ],
          ],
        },
      );
      if (process.env.RESUME_PROPERTY_REPORT) process.stdout.write(`resume property: ${JSON.stringify(totals)}\n`);
      // The runs exercised resume itself, not only the full-list fallback (and the fallback too).
      expect(totals.resumes).toBeGreaterThan(totals.drops / 4);
      expect(totals.refused).toBeGreaterThan(0);
    },
    120_000 + RUNS * 1_000,
  );
});

describe('positions no server could resume from (property)', () => {
  let server: MonorailServer;
  let other: MonorailServer;
  /** A valid position of `workflows` on `server`, one of `nodes` on `other` (another epoch), and the head's offset. */
  const known = { otherChannel: '', otherEpoch: '', epoch: '', head: 0 };

  const positionOf = (f: ServerMessage) => (f as { position?: string }).position!;

  beforeAll(async () => {
    const seed = { nodes: [node(1, 0, 0, 0), node(2, 1, 1, 0), node(3, 0, 1, 0)], workflows: [{ instanceId: 'w1', _status: 'running' }] };
    server = await createServer({ port: 0, seed, resume: { progressIntervalMs: 0 } });
    other = await createServer({ port: 0, seed, resume: { progressIntervalMs: 0 } });
    const w = await RawClient.connect(`${server.url}/workflows`);
    known.otherChannel = positionOf(await w.request({ handler: 'watch', params: {} }, 'list'));
    w.close();
    const o = await RawClient.connect(`${other.url}/nodes`);
    known.otherEpoch = positionOf(await o.request({ handler: 'watch', params: {} }, 'list'));
    o.close();
    const n = await RawClient.connect(`${server.url}/nodes`);
    const mine = positionOf(await n.request({ handler: 'watch', params: {} }, 'list'));
    n.close();
    [known.epoch, known.head] = [mine.split('.')[0]!, Number(mine.split('.')[1])];
  });

  afterAll(async () => {
    await server?.close();
    await other?.close();
  });

  const badPosition: fc.Arbitrary<unknown> = fc.oneof(
    fc.string({ maxLength: 60 }),
    fc.stringMatching(/^[0-9a-z]{1,20}\.[0-9]{1,20}$/),
    fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== 'string'),
    fc.integer({ min: 1, max: 1e9 }).map((k) => `${known.epoch}.${known.head + k}`),
    fc.constant(null).map(() => known.otherChannel),
    fc.constant(null).map(() => known.otherEpoch),
  );

  it('a malformed, non-string, future, other-channel or other-epoch position gets a full list equal to the snapshot, never an error', async () => {
    const client = await RawClient.connect(`${server.url}/nodes`);
    try {
      client.send({ handler: 'init', features: ['resume'] });
      await client.next('session');
      await fc.assert(
        fc.asyncProperty(badPosition, fc.constantFrom(...FILTERS), async (position, params) => {
          const refused = server.hub.stats().resumesRefused;
          client.send({ handler: 'watch', params, position });
          // A refusal would come at once; the list answers on a later tick: the first frame must be the list.
          const list = await client.next();
          expect(list.handler).toBe('list');
          expect(byId((list as Extract<ServerMessage, { handler: 'list' }>).items)).toEqual(
            byId(server.backend!.read('nodes', params as Params, 100)),
          );
          client.send({ handler: 'stop', params });
          expect(await client.drain()).toEqual([]);
          // The position was looked at and refused (a `debug` line says why).
          expect(server.hub.stats().resumesRefused).toBe(refused + 1);
        }),
        { numRuns: Math.max(50, RUNS) },
      );
    } finally {
      client.close();
    }
  });
});
