/**
 * Slow consumers against the real server, measured in bytes: a client that never reads (a raw TCP client that
 * completed its handshake, or the SDK's socket paused) cannot make the server hold more than the hard cap plus
 * one frame for it; it is closed with 1013, the SDK client reconnects and re-snapshots, and a healthy client on
 * the same channel receives every change. Thresholds are small so the test is quick; time is never asserted.
 */
import WebSocket from 'isomorphic-ws';
import type { WebSocket as WsSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../client/index.js';
import type { Doc } from '../protocol/index.js';
import { createServer, type HubConnection, type LogFields, type Logger, type MonorailServer, type ServerOptions } from '../server/index.js';
import { makeNode } from '../server/demo/fixtures.js';
import { RawClient } from './support/raw-client.js';
import { byId } from './support/records.js';
import { waitFor } from './support/wait.js';
import { stalledClient } from './support/raw-socket.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Harness {
  server: MonorailServer;
  /** Server-side connections, in the order they arrived. */
  conns: HubConnection[];
  /** `slow consumer closed` log lines. */
  trips: LogFields[];
}

async function serve(options: ServerOptions): Promise<Harness> {
  const trips: LogFields[] = [];
  const logger: Logger = {
    debug() {},
    warn() {},
    error() {},
    info: (msg, fields) => msg === 'slow consumer closed' && trips.push(fields ?? {}),
  };
  const server = await createServer({ port: 0, seed: { nodes: [] }, logger, ...options });
  cleanup.push(() => server.close());
  const conns: HubConnection[] = [];
  server.on('connection', (c) => conns.push(c));
  return { server, conns, trips };
}

/** A node record of about `bytes` bytes once serialised. */
function bigNode(i: number, bytes: number): Doc {
  return { ...makeNode(i, 'compute'), blob: 'x'.repeat(bytes) };
}

/** Lets the event loop write what it can (no timing: one turn of I/O). */
const turn = () => new Promise((r) => setImmediate(r));

describe('slow consumers', () => {
  it('a client that never reads is held to the hard cap plus one frame, closed with 1013, and a healthy client on the channel gets every change', async () => {
    const hardBytes = 1 * MiB;
    const { server, conns, trips } = await serve({
      slowConsumer: { softBytes: 256 * KiB, hardBytes, graceMs: 600_000 },
      closeTimeoutMs: 50,
    });
    const healthy = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(() => healthy.close());
    await healthy.request({ handler: 'watch', params: {} }, 'list');
    const stalled = await stalledClient(`${server.url}/nodes`, [{ handler: 'watch', params: {} }]);
    cleanup.push(() => stalled.drop());
    await waitFor(() => server.hub.stats().watches === 2);
    // Its snapshot may wait for the coalescing window of the healthy client's identical read: publish after it,
    // or the changes are held for it and its snapshot becomes one huge list frame.
    await waitFor(() => server.hub.stats().sourceReads === 2);
    await turn();
    const slow = conns[1]!;

    const frameBytes = 16 * KiB;
    let published = 0;
    let maxBuffered = 0;
    // Publish until the server gives up on the stalled client; the kernel's socket buffers absorb a few MiB first.
    // The healthy client is paced: it never falls more than 24 frames (384 KiB) behind, well under the hard cap, so
    // on a loaded machine it is the stalled client alone that trips.
    const itemsSeen = () => healthy.frames.length - 1;
    while (trips.length === 0 && published < 4000) {
      server.backend!.upsert('nodes', bigNode(published++, frameBytes));
      maxBuffered = Math.max(maxBuffered, slow.bufferedAmount);
      if (published % 16 === 0) await turn();
      if (published - itemsSeen() > 24) await waitFor(() => published - itemsSeen() <= 8, 10_000, 'healthy client catching up');
    }
    expect(trips).toEqual([{ code: 1013, reason: 'hard', bytes: expect.any(Number), remoteAddress: expect.any(String) }]);
    const frame = 16 * KiB + 400; // a record plus its envelope
    expect(trips[0]!.bytes).toBeGreaterThan(hardBytes);
    expect(maxBuffered).toBeLessThanOrEqual(hardBytes + frame);
    // Nothing more is queued for it after the trip, whatever keeps being published.
    for (let i = 0; i < 200; i++) server.backend!.upsert('nodes', bigNode(published++, frameBytes));
    expect(slow.bufferedAmount).toBeLessThanOrEqual(hardBytes + frame + 64);
    // The close frame is never answered; after closeTimeoutMs the TCP connection is cut and its buffer freed.
    await waitFor(() => slow.closed, 5000, 'stalled connection gone');
    expect(server.hub.stats()).toMatchObject({ connections: 1, watches: 1 });

    await waitFor(() => healthy.frames.filter((f) => f.handler === 'item').length === published, 10_000, 'every change');
    const ids = new Set(healthy.frames.flatMap((f) => (f.handler === 'item' ? [f.id] : [])));
    expect(ids.size).toBe(published);
  });

  it('a client whose buffer stays above the soft threshold for the grace period is closed with 1013 (reason soft)', async () => {
    const softBytes = 128 * KiB;
    const { server, conns, trips } = await serve({ slowConsumer: { softBytes, hardBytes: 1024 * MiB, graceMs: 100 }, closeTimeoutMs: 50 });
    const stalled = await stalledClient(`${server.url}/nodes`, [{ handler: 'watch', params: {} }]);
    cleanup.push(() => stalled.drop());
    await waitFor(() => server.hub.stats().watches === 1);
    let i = 0;
    while (conns[0]!.bufferedAmount <= softBytes && i < 4000) {
      server.backend!.upsert('nodes', bigNode(i++, 16 * KiB));
      if (i % 16 === 0) await turn();
    }
    expect(conns[0]!.bufferedAmount).toBeGreaterThan(softBytes);
    // Nothing else is sent: the buffer stays where it is because the client does not read.
    await waitFor(() => trips.length === 1, 5000, 'soft trip');
    expect(trips[0]).toMatchObject({ code: 1013, reason: 'soft' });
    expect(trips[0]!.bytes).toBeGreaterThan(softBytes);
  });

  it('a big snapshot to a healthy client that drains it is not cut', async () => {
    const records = Array.from({ length: 300 }, (_, i) => bigNode(i, 16 * KiB));
    const { server, trips } = await serve({
      seed: { nodes: records },
      slowConsumer: { softBytes: 64 * KiB, hardBytes: 1 * MiB, graceMs: 2000 },
    });
    const c = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(() => c.close());
    const list = await c.request({ handler: 'watch', params: {} }, 'list');
    expect(list.items).toHaveLength(300);
    expect(JSON.stringify(list).length).toBeGreaterThan(4 * MiB);
    // Still open and served: a change after the snapshot arrives.
    server.backend!.upsert('nodes', { ...records[0]!, name: 'after' });
    expect((await c.next('item')).data.name).toBe('after');
    expect(trips).toEqual([]);
    expect(c.closeEvent).toBeUndefined();
  });

  it('the SDK client whose socket stopped reading is closed with 1013, reconnects when it reads again, and re-snapshots to equal the source', async () => {
    const { server, trips } = await serve({
      slowConsumer: { softBytes: 256 * KiB, hardBytes: 1 * MiB, graceMs: 600_000 },
      closeTimeoutMs: 30_000,
    });
    const c = new Connection(`${server.url}/nodes`, { WebSocket, backoff: { baseMs: 5, maxMs: 50 }, heartbeat: false });
    cleanup.push(() => c.disconnect());
    const closes: number[] = [];
    c.events.on('close', (e) => closes.push(e.code));
    c.watch({ type: 'compute' });
    // The session id too: the hub can hold the watch before the client has read its `session` frame.
    await waitFor(() => c.state === 'open' && c.sessionId !== undefined && server.hub.stats().watches === 1);
    const first = c.sessionId;
    (c.wsConn as unknown as WsSocket).pause();

    let i = 0;
    while (trips.length === 0 && i < 4000) {
      server.backend!.upsert('nodes', bigNode(i++, 16 * KiB));
      if (i % 16 === 0) await turn();
    }
    expect(trips).toHaveLength(1);
    // Changes the client will not see on the old connection: a removal and an update.
    server.backend!.remove('nodes', makeNode(0, 'compute').id as string);
    server.backend!.upsert('nodes', { ...bigNode(1, 10), name: 'changed after the cut' });

    (c.wsConn as unknown as WsSocket).resume();
    await waitFor(() => c.sessionId !== undefined && c.sessionId !== first, 10_000, 'reconnect');
    expect(closes[0]).toBe(1013);
    const source = () => JSON.stringify(byId(server.backend!.read('nodes', { type: 'compute' }, 100_000)));
    await waitFor(() => JSON.stringify(byId([...c.store.getSnapshot()])) === source(), 10_000, 'store = source');
  });
});

describe('the server-wide queued-bytes budget', () => {
  it('once the bytes queued to all clients pass maxQueuedBytes, the connection holding the most is closed first with 1013; a smaller one and a reading client are unaffected (regression: ten slow consumers held 712 MB)', async () => {
    const budget = 2 * MiB;
    // Per-connection thresholds out of reach: only the server-wide budget can close anyone here.
    const { server, conns, trips } = await serve({
      maxQueuedBytes: budget,
      slowConsumer: { softBytes: 1024 * MiB, hardBytes: 1024 * MiB, graceMs: 600_000 },
      closeTimeoutMs: 50,
    });
    const healthy = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(() => healthy.close());
    await healthy.request({ handler: 'watch', params: {} }, 'list');
    // Two readers that stop reading: one watches every node, the other only switches (one change in eight).
    const big = await stalledClient(`${server.url}/nodes`, [{ handler: 'watch', params: {} }]);
    cleanup.push(() => big.drop());
    const small = await stalledClient(`${server.url}/nodes`, [{ handler: 'watch', params: { type: 'switch' } }]);
    cleanup.push(() => small.drop());
    await waitFor(() => server.hub.stats().watches === 3 && server.hub.stats().sourceReads === 3);
    await turn();
    const [bigConn, smallConn] = [conns[1]!, conns[2]!];

    let published = 0;
    const itemsSeen = () => healthy.frames.length - 1;
    const change = (i: number) => ({ ...bigNode(i, 16 * KiB), type: i % 8 === 7 ? 'switch' : 'compute' });
    while (trips.length === 0 && published < 4000) {
      server.backend!.upsert('nodes', change(published++));
      if (published % 16 === 0) await turn();
      if (published - itemsSeen() > 24) await waitFor(() => published - itemsSeen() <= 8, 10_000, 'healthy client catching up');
    }
    expect(trips).toEqual([{ code: 1013, reason: 'budget', bytes: expect.any(Number), remoteAddress: expect.any(String) }]);
    expect(trips[0]!.bytes).toBeGreaterThan(smallConn.bufferedAmount);
    await waitFor(() => bigConn.closed, 5000, 'the largest consumer gone');
    // The rest fits the budget: nobody else is closed, whatever keeps being published.
    for (let i = 0; i < 64; i++) server.backend!.upsert('nodes', change(published++));
    await waitFor(() => healthy.frames.filter((f) => f.handler === 'item').length === published, 10_000, 'every change');
    expect(trips).toHaveLength(1);
    expect(smallConn.closed).toBe(false);
    expect(healthy.closeEvent).toBeUndefined();
    expect(server.hub.stats()).toMatchObject({ connections: 2, watches: 2 });
  });
});
