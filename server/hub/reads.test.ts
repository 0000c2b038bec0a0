/**
 * Snapshot reads and the ordering guarantee: the change log on its own, a read shared by two subscriptions without
 * a hub, then through the hub: changes held during a read and replayed after it, coalescing of identical reads
 * (in flight and within the window), the answers to `get`, failed reads, sockets that throw when a read answers,
 * and `maxListBytes` (a snapshot over it is refused, never cut).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type Doc, type ServerMessage } from '../../protocol/index.js';
import { DEFAULT_CHANNELS } from './channels.js';
import { ChannelState, subscription } from './channel-state.js';
import { Hub } from './hub.js';
import { HubConnection } from './hub-connection.js';
import { silentLogger } from './logger.js';
import { ChangeLog, readKey, SnapshotReads } from './reads.js';
import { GLOBAL_TIMERS } from './timers.js';
import type { LoggedChange } from './record-memory.js';
import { SourceUnavailableError, type Change, type Source } from './source.js';
import {
  errorLog,
  FrameSocket,
  GatedSource,
  manualClock,
  n,
  settle,
  setup,
  TableBackend,
  TestSocket,
  ThrowingSocket,
  tick,
} from '../../test/support/hub-doubles.js';

const change = (seq: number): LoggedChange => ({ seq, pos: -1, id: `c${seq}`, data: { id: `c${seq}` }, prev: { kind: 'unknown' } });

describe('change log', () => {
  it('keeps nothing while no read is in flight', () => {
    const log = new ChangeLog();
    log.hold(change(1));
    expect(log.size).toBe(0);
  });

  it('keeps the changes after each read began, oldest first, and drops what no read in flight needs any more', () => {
    const log = new ChangeLog();
    log.beginRead(0);
    log.hold(change(1));
    log.hold(change(2));
    log.beginRead(2);
    log.hold(change(3));
    expect(log.changesSince(0).map((c) => c.seq)).toEqual([1, 2, 3]);
    expect(log.changesSince(2).map((c) => c.seq)).toEqual([3]);
    expect(log.changesSince(3)).toEqual([]);
    log.endRead(0);
    // The read that began at 2 needs only what came after 2.
    expect([log.size, log.changesSince(2).map((c) => c.seq)]).toEqual([1, [3]]);
    log.endRead(2);
    expect(log.size).toBe(0);
    log.hold(change(4));
    expect(log.size).toBe(0);
  });

  it('a read joined several times is in flight until every joiner has ended it', () => {
    const log = new ChangeLog();
    expect(log.beginRead(5)).toBe(5);
    log.beginRead(5);
    log.hold(change(6));
    log.endRead(5);
    expect(log.size).toBe(1);
    log.endRead(5);
    expect(log.size).toBe(0);
  });
});

describe('snapshot reads without a hub', () => {
  it('one source read answers both subscriptions that asked, then replays what changed meanwhile, and the log empties', async () => {
    const source = new GatedSource();
    source.rows.set('a', n('a', 'compute', { v: 1 }));
    const reads = new SnapshotReads({
      source,
      maxListItems: 100,
      maxListBytes: DEFAULTS.maxListBytes,
      coalesceWindowMs: 0,
      timers: GLOBAL_TIMERS,
      logger: silentLogger,
    });
    const state = new ChannelState(DEFAULT_CHANNELS[0]!);
    const sockets = [new TestSocket(), new TestSocket()];
    const subs = sockets.map((socket, i) => {
      const conn = new HubConnection(`s${i}`, 'nodes', socket, undefined);
      const sub = subscription('nodes', state, conn);
      const watch = state.addWatch(sub, state.filterFor('{}', {}));
      reads.snapshot(conn, sub, readKey(state, 'list', '{}'), 'list', {}, { handler: 'watch', params: {} }, watch);
      return sub;
    });
    await tick();
    expect([reads.counters, subs.map((s) => s.inflight)]).toEqual([{ sourceReads: 1, coalescedReads: 1 }, [1, 1]]);
    const changed = state.record({ channel: 'nodes', id: 'a', data: n('a', 'compute', { v: 2 }) });
    reads.hold(state, changed);
    expect(reads.logSize(state)).toBe(1);
    source.releaseAll();
    await tick();
    for (const socket of sockets) {
      expect(socket.take()).toEqual([
        { handler: 'list', resource: 'nodes', params: {}, items: [n('a', 'compute', { v: 1 })] },
        { handler: 'item', resource: 'nodes', id: 'a', data: n('a', 'compute', { v: 2 }) },
      ]);
    }
    expect([reads.logSize(state), subs.map((s) => s.inflight)]).toEqual([0, [0, 0]]);
  });
});

describe('ordering guarantee', () => {
  it('holds changes that arrive during a snapshot read and sends them right after it, in arrival order', async () => {
    const source = new GatedSource();
    source.rows.set('a', n('a', 'compute', { v: 1 }));
    source.rows.set('b', n('b', 'compute'));
    const { hub, open } = setup(source);
    const { socket } = open();
    socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    await tick();
    expect(source.pending).toHaveLength(1);

    const change1: Change = { channel: 'nodes', id: 'a', data: n('a', 'compute', { v: 2 }), prev: n('a', 'compute', { v: 1 }) };
    const change2: Change = { channel: 'nodes', id: 'b', data: null, prev: n('b', 'compute') };
    hub.publish(change1);
    hub.publish(change2);
    expect(socket.frames).toEqual([]);

    source.releaseAll();
    await tick();
    expect(socket.take()).toEqual([
      { handler: 'list', resource: 'nodes', params: { type: 'compute' }, items: [n('a', 'compute', { v: 1 }), n('b', 'compute')] },
      { handler: 'item', resource: 'nodes', id: 'a', data: n('a', 'compute', { v: 2 }) },
      { handler: 'remove', resource: 'nodes', id: 'b' },
    ]);
    expect(hub.reads.logSize(hub.channelState('nodes')!)).toBe(0);
  });

  it('holds for query and get reads too', async () => {
    const source = new GatedSource();
    source.rows.set('a', n('a', 'compute'));
    const { hub, open } = setup(source);
    const { socket } = open();
    socket.deliver({ handler: 'watch', params: {} });
    await tick();
    source.releaseAll();
    await tick();
    socket.take();
    socket.deliver({ handler: 'get', params: { id: 'a' } });
    await tick();
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'switch'), prev: n('a', 'compute') });
    expect(socket.frames).toEqual([]);
    source.releaseAll();
    await tick();
    expect(socket.take().map((f) => [f.handler, f.handler === 'item' ? f.data.type : undefined])).toEqual([
      ['item', 'compute'],
      ['item', 'switch'],
    ]);
  });

  it('a watch stopped while its snapshot is in flight gets no list', async () => {
    const source = new GatedSource();
    const { open } = setup(source);
    const { socket } = open();
    socket.deliver({ handler: 'watch', params: { type: 'x' } });
    socket.deliver({ handler: 'stop', params: { type: 'x' } });
    await tick();
    source.releaseAll();
    await tick();
    expect(socket.frames).toEqual([]);
  });

  it('a watch stopped and watched again while its snapshot is in flight gets one list, for the second request', async () => {
    const source = new GatedSource();
    const { hub, open } = setup(source);
    const { socket } = open();
    socket.deliver({ handler: 'watch', params: { type: 'x' } });
    socket.deliver({ handler: 'stop', params: { type: 'x' } });
    socket.deliver({ handler: 'watch', params: { type: 'x' } });
    await tick();
    source.releaseAll();
    await tick();
    expect(socket.take().map((f) => f.handler)).toEqual(['list']);
    expect(hub.stats().watches).toBe(1);
  });

  it('a connection closed while its read is in flight releases everything', async () => {
    const source = new GatedSource();
    const { hub, open } = setup(source);
    const { socket, conn } = open();
    socket.deliver({ handler: 'watch', params: {} });
    await tick();
    hub.publish({ channel: 'nodes', id: 'z', data: n('z', 'compute'), prev: null });
    conn.close(1000);
    source.releaseAll();
    await tick();
    expect(socket.frames).toEqual([]);
    expect(hub.reads.logSize(hub.channelState('nodes')!)).toBe(0);
    expect(hub.stats().connections).toBe(0);
  });

  it('a get that finds nothing answers remove, with the id when the params name one', async () => {
    const source = new GatedSource();
    source.gated = false;
    const { open } = setup(source);
    const { socket } = open();
    socket.deliver({ handler: 'get', params: { id: 'nope' } });
    socket.deliver({ handler: 'get', params: { type: 'nope' } });
    await tick();
    expect(socket.take()).toEqual([
      { handler: 'remove', resource: 'nodes', id: 'nope', params: { id: 'nope' } },
      { handler: 'remove', resource: 'nodes', params: { type: 'nope' } },
    ]);
  });
});

describe('coalescing', () => {
  it('identical reads in flight share one source read; each joiner gets its snapshot then what changed since the shared read began', async () => {
    const source = new GatedSource();
    source.rows.set('a', n('a', 'compute', { v: 1 }));
    const { hub, open } = setup(source);
    const x = open();
    const y = open();
    // x already watches compute nodes and receives changes live.
    x.socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    await tick();
    source.releaseAll();
    await tick();
    x.socket.take();

    y.socket.deliver({ handler: 'watch', params: {} });
    await tick();
    const change: Change = { channel: 'nodes', id: 'a', data: n('a', 'compute', { v: 2 }), prev: n('a', 'compute', { v: 1 }) };
    hub.publish(change);
    // x is not reading: it sees the change live.
    expect(x.socket.take()).toEqual([{ handler: 'item', resource: 'nodes', id: 'a', data: change.data }]);
    // x now asks for the same snapshot as y: it joins the read that began before the change.
    x.socket.deliver({ handler: 'watch', params: {} });
    await tick();
    expect(hub.stats()).toMatchObject({ sourceReads: 2, coalescedReads: 1 });

    source.releaseAll();
    await tick();
    const stale = { handler: 'list', resource: 'nodes', params: {}, items: [n('a', 'compute', { v: 1 })] };
    const fresh = { handler: 'item', resource: 'nodes', id: 'a', data: change.data };
    // The shared snapshot predates the change, so both get the change replayed after it.
    expect(x.socket.take()).toEqual([stale, fresh]);
    expect(y.socket.take()).toEqual([stale, fresh]);
  });

  it('within the coalescing window, an identical request waits for the next read and every request until then shares it', async () => {
    const source = new GatedSource();
    source.gated = false;
    source.rows.set('a', n('a', 'compute', { v: 1 }));
    const clock = manualClock();
    const hub = new Hub({ source, coalesceWindowMs: 50, timers: clock.timers });
    const [x, y, z] = [0, 1, 2].map(() => {
      const socket = new TestSocket();
      hub.accept(socket, { channel: 'nodes' });
      return socket;
    });
    x!.deliver({ handler: 'watch', params: {} });
    await tick();
    expect(x!.take()).toEqual([{ handler: 'list', resource: 'nodes', params: {}, items: [n('a', 'compute', { v: 1 })] }]);
    clock.advance(10);
    y!.deliver({ handler: 'watch', params: {} });
    clock.advance(10);
    z!.deliver({ handler: 'watch', params: {} });
    await tick();
    // Nothing read yet: the window of x's read (started at 0) lasts until 50.
    expect(hub.stats()).toMatchObject({ sourceReads: 1, coalescedReads: 1 });
    expect([y!.take(), z!.take()]).toEqual([[], []]);
    const change: Change = { channel: 'nodes', id: 'a', data: n('a', 'compute', { v: 2 }), prev: n('a', 'compute', { v: 1 }) };
    clock.advance(10);
    source.rows.set('a', change.data!);
    hub.publish(change);
    // x is not reading and sees it live; y and z wait for their snapshot.
    expect(x!.take()).toEqual([{ handler: 'item', resource: 'nodes', id: 'a', data: change.data }]);
    clock.advance(20);
    await tick();
    expect(hub.stats()).toMatchObject({ sourceReads: 2, coalescedReads: 1 });
    // Read at 50, after the change: the snapshot has it, and its replay after the snapshot is harmless.
    const expected = [
      { handler: 'list', resource: 'nodes', params: {}, items: [n('a', 'compute', { v: 2 })] },
      { handler: 'item', resource: 'nodes', id: 'a', data: change.data },
    ];
    expect([y!.take(), z!.take()]).toEqual([expected, expected]);
    expect(hub.reads.logSize(hub.channelState('nodes')!)).toBe(0);
    // After the window, a request is read at once again.
    clock.advance(100);
    x!.deliver({ handler: 'query', params: {} });
    await tick();
    expect(hub.stats().sourceReads).toBe(3);
  });

  it('without a window (the hub default, and the mock), a read after the previous one ended goes to the source at once', async () => {
    const source = new GatedSource();
    source.gated = false;
    const { hub, open } = setup(source);
    const x = open();
    for (let i = 0; i < 3; i++) {
      x.socket.deliver({ handler: 'query', params: {} });
      await tick();
    }
    expect(hub.stats()).toMatchObject({ sourceReads: 3, coalescedReads: 0 });
    expect(x.socket.take()).toHaveLength(3);
  });

  it('close() cancels reads still waiting for their window', async () => {
    const source = new GatedSource();
    source.gated = false;
    const clock = manualClock();
    const hub = new Hub({ source, coalesceWindowMs: 50, timers: clock.timers });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nodes' });
    socket.deliver({ handler: 'query', params: {} });
    await tick();
    socket.deliver({ handler: 'query', params: {} });
    hub.close();
    clock.advance(100);
    await tick();
    expect(source.reads).toBe(1);
  });

  it('reads with different params are not shared', async () => {
    const source = new GatedSource();
    const { hub, open } = setup(source);
    open().socket.deliver({ handler: 'query', params: { type: 'a' } });
    open().socket.deliver({ handler: 'query', params: { type: 'b' } });
    open().socket.deliver({ handler: 'query', params: { type: 'a' } });
    await tick();
    expect(hub.stats()).toMatchObject({ sourceReads: 2, coalescedReads: 1 });
    source.releaseAll();
  });
});

describe('failed reads', () => {
  it('a source that is down answers source-unavailable with the request, and other channels keep working', async () => {
    const source = new GatedSource();
    source.gated = false;
    source.fail = new SourceUnavailableError('connection refused');
    const { open } = setup(source);
    const { socket } = open();
    socket.deliver({ handler: 'watch', params: { type: 'x' } });
    await tick();
    expect(socket.take()).toEqual([
      {
        handler: 'error',
        resource: 'nodes',
        params: {
          code: 'source-unavailable',
          message: expect.stringContaining('connection refused'),
          request: { handler: 'watch', params: { type: 'x' } },
        },
      },
    ]);
    source.fail = undefined;
    socket.deliver({ handler: 'query', params: {} });
    await tick();
    expect(socket.take()[0]!.handler).toBe('list');
  });

  it('an unexpected source error is `internal` and does not leak its message', async () => {
    const source = new GatedSource();
    source.gated = false;
    source.fail = new Error('secret detail');
    const { open } = setup(source);
    const { socket } = open();
    socket.deliver({ handler: 'query', params: {} });
    await tick();
    const [frame] = socket.take();
    expect(frame).toMatchObject({ handler: 'error', params: { code: 'internal' } });
    expect(JSON.stringify(frame)).not.toContain('secret');
  });
});

/** Runs `body` and returns the unhandled rejections it left (each would end a Node process). */
async function unhandledDuring(body: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => void seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await body();
    // Unhandled rejections are reported after the microtasks of the tick they happened on.
    await tick();
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

/** A socket that takes the snapshot but whose shared frames (changes) throw. */
class FrameThrowingSocket extends FrameSocket {
  override sendFrame(): void {
    throw new Error('sendFrame broke');
  }
}

describe('a socket that throws when its read answers', () => {
  it('a read that fails on a socket whose send throws closes it with 1011 on the later tick, nothing unhandled', async () => {
    const logger = errorLog();
    const hub = new Hub({
      source: { read: () => Promise.reject(new Error('down')), get: () => Promise.reject(new Error('down')) },
      logger,
    });
    const socket = new ThrowingSocket();
    hub.accept(socket, { channel: 'nodes' });
    const unhandled = await unhandledDuring(async () => {
      socket.deliver({ handler: 'query', params: {} });
      await tick();
    });
    expect([unhandled, socket.closedWith, logger.errors]).toEqual([
      [],
      1011,
      ['an error reply (internal) could not be sent, closing the connection'],
    ]);
  });

  it('a list or an item it cannot send abandons that connection (1011, logged); the other joiners get theirs, nothing unhandled', async () => {
    const source = new GatedSource();
    source.rows.set('a', n('a', 'compute', { v: 1 }));
    const logger = errorLog();
    const hub = new Hub({ source, logger });
    const broken = new ThrowingSocket();
    const fine = new TestSocket();
    hub.accept(broken, { channel: 'nodes' });
    hub.accept(fine, { channel: 'nodes' });
    const unhandled = await unhandledDuring(async () => {
      broken.deliver({ handler: 'watch', params: {} });
      fine.deliver({ handler: 'watch', params: {} });
      broken.deliver({ handler: 'get', params: { id: 'a' } });
      await tick();
      hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'compute', { v: 2 }), prev: n('a', 'compute', { v: 1 }) });
      source.releaseAll();
      await tick();
    });
    expect(unhandled).toEqual([]);
    expect(broken.closedWith).toBe(1011);
    expect(fine.take()).toEqual([
      { handler: 'list', resource: 'nodes', params: {}, items: [n('a', 'compute', { v: 1 })] },
      { handler: 'item', resource: 'nodes', id: 'a', data: n('a', 'compute', { v: 2 }) },
    ]);
    // One line: the get's answer finds the connection already closed.
    expect(logger.errors).toEqual(['a snapshot could not be sent, closing the connection']);
    expect([hub.stats().connections, hub.stats().watches, hub.reads.logSize(hub.channelState('nodes')!)]).toEqual([1, 1, 0]);
  });

  it('a change held during the read that it cannot send abandons it too, and the log still empties', async () => {
    const source = new GatedSource();
    const logger = errorLog();
    const hub = new Hub({ source, logger });
    const socket = new FrameThrowingSocket();
    hub.accept(socket, { channel: 'nodes' });
    const unhandled = await unhandledDuring(async () => {
      socket.deliver({ handler: 'watch', params: {} });
      await tick();
      hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'compute'), prev: null });
      source.releaseAll();
      await tick();
    });
    expect([unhandled, socket.take().map((f) => f.handler), socket.closedWith]).toEqual([[], ['list'], 1011]);
    expect(logger.errors).toEqual(['a change held during a snapshot could not be sent, closing the connection']);
    expect(hub.reads.logSize(hub.channelState('nodes')!)).toBe(0);
  });
});

describe('maxListBytes', () => {
  const record = (id: string) => ({ id, type: 'compute', pad: 'x'.repeat(100) });

  it('refuses a snapshot over it with too-large, never a cut list; a refused watch ends on the server as on the client', async () => {
    const backend = new TableBackend({ nodes: [record('a'), record('b')] });
    const one = JSON.stringify([record('a')]).length;
    const hub = new Hub({ source: backend, feed: backend, maxListBytes: one + 10 });
    const socket = new TestSocket();
    const conn = hub.accept(socket, { channel: 'nodes' });
    socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    socket.deliver({ handler: 'query', params: { type: 'compute' } });
    socket.deliver({ handler: 'watch', params: { id: 'a' } });
    await settle();
    const frames = socket.take();
    expect(frames.map((f) => (f.handler === 'error' ? f.params.code : f.handler))).toEqual(['too-large', 'too-large', 'list']);
    const refused = frames[0] as Extract<ServerMessage, { handler: 'error' }>;
    expect(refused.params.message).toMatch(/over maxListBytes \([\d,]+ characters of JSON\) on "nodes"; watch a narrower filter/);
    expect(refused.params.request).toEqual({ handler: 'watch', params: { type: 'compute' } });
    expect([hub.stats().watches, conn.watchCount, conn.watchBytes > 0]).toEqual([1, 1, true]);
    // Only the watch that fits still follows changes: b's update reaches nobody.
    backend.upsert('nodes', { ...record('b'), rack: 'r1' });
    backend.upsert('nodes', { ...record('a'), rack: 'r1' });
    expect(socket.take().map((f) => f.handler === 'item' && f.id)).toEqual(['a']);
  });

  it('a list that cannot be serialised at all (past the longest string) is refused the same way, without a crash', async () => {
    const huge = {
      id: 'h',
      toJSON: () => {
        throw new RangeError('Invalid string length');
      },
    } as unknown as Doc;
    const source: Source = { read: () => [huge], get: () => undefined };
    const { open } = setup(source);
    const { socket } = open();
    socket.deliver({ handler: 'all' });
    socket.deliver({ handler: 'init' });
    await settle();
    expect(socket.take().map((f) => (f.handler === 'error' ? f.params.code : f.handler))).toEqual(['session', 'too-large']);
  });
});
