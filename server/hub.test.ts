/**
 * The hub as an engine: ordering guarantee, coalescing, item/remove decisions with and without knowledge of
 * the previous record, watch indexing. Driven through its socket interface with a controllable source, so
 * snapshot reads can be held open while changes arrive.
 */
import { describe, expect, it } from 'vitest';
import { matches, type Doc, type Params, type ServerMessage } from '../protocol/index.js';
import { mib, retainedBy } from '../test/heap.js';
import { Hub, RECENT_READS, type HubTimers } from './hub.js';
import type { HubSocket, SharedFrame, SocketEvents } from './hub-connection.js';
import { MemoryBackend } from './memory.js';
import { SourceUnavailableError, type Change, type Source } from './source.js';

class TestSocket implements HubSocket {
  readonly frames: ServerMessage[] = [];
  private onMsg: (data: string, isBinary: boolean) => void = () => {};
  private onEnd: (code: number, reason: string) => void = () => {};
  closedWith: number | undefined;
  send(data: string): void {
    this.frames.push(JSON.parse(data) as ServerMessage);
  }
  close(code: number): void {
    this.closedWith = code;
    this.onEnd(code, '');
  }
  onMessage(handler: (data: string, isBinary: boolean) => void): void {
    this.onMsg = handler;
  }
  onClose(handler: (code: number, reason: string) => void): void {
    this.onEnd = handler;
  }
  deliver(message: object): void {
    this.onMsg(JSON.stringify(message), false);
  }
  take(): ServerMessage[] {
    return this.frames.splice(0);
  }
}

/** A socket that takes shared frames as they are (the ws adapter's path), recording the frame objects. */
class FrameSocket extends TestSocket {
  readonly shared: SharedFrame[] = [];
  sendFrame(frame: SharedFrame): void {
    this.shared.push(frame);
    this.send(frame.text);
  }
}

/** A source whose reads stay pending until the test releases them, answering from a record table. */
class GatedSource implements Source {
  readonly rows = new Map<string, Doc>();
  readonly pending: Array<{ resolve: () => void; channel: string; params: Params }> = [];
  gated = true;
  reads = 0;
  fail: Error | undefined;

  read(channel: string, params: Params): Promise<Doc[]> {
    this.reads++;
    // The snapshot is taken now (when the read starts), like a database read that began before later writes.
    const snapshot = [...this.rows.values()].filter((d) => matches(d, params));
    const fail = this.fail;
    return new Promise((resolve, reject) => {
      const done = () => (fail ? reject(fail) : resolve(snapshot));
      if (this.gated) this.pending.push({ resolve: done, channel, params });
      else done();
    });
  }
  async get(channel: string, params: Params): Promise<Doc | undefined> {
    return (await this.read(channel, params))[0];
  }
  releaseAll(): void {
    for (const p of this.pending.splice(0)) p.resolve();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

/** A clock and timers that move only when the test advances them. */
function manualClock() {
  let now = 0;
  let next = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: HubTimers = {
    setTimeout: (fn, ms) => {
      pending.set(++next, { at: now + ms, fn });
      return next;
    },
    clearTimeout: (handle) => void pending.delete(handle as number),
    now: () => now,
  };
  return {
    timers,
    advance(ms: number): void {
      now += ms;
      for (const [id, t] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at > now) continue;
        pending.delete(id);
        t.fn();
      }
    },
  };
}

function setup(source: Source = new GatedSource()) {
  const hub = new Hub({ source });
  const open = (channel = 'nodes') => {
    const socket = new TestSocket();
    const conn = hub.accept(socket, { channel });
    return { socket, conn };
  };
  return { hub, open, source };
}

const n = (id: string, type: string, extra: Doc = {}): Doc => ({ id, type, ...extra });

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
    expect(hub.channelState('nodes')!.logSize).toBe(0);
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
    expect(hub.channelState('nodes')!.logSize).toBe(0);
    expect(hub.stats().connections).toBe(0);
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
    expect(hub.channelState('nodes')!.logSize).toBe(0);
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

describe('item or remove, per connection', () => {
  /** A hub on an ungated source holding `rows`, and one connection watching `{type: 'compute'}`, its snapshot read. */
  async function watchingCompute(rows: Doc[] = []) {
    const source = new GatedSource();
    source.gated = false;
    for (const row of rows) source.rows.set(String(row.id), row);
    const { hub, open } = setup(source);
    const { socket } = open();
    socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    await tick();
    socket.take();
    return { hub, socket };
  }

  it('without the previous record, uses what earlier snapshots and changes showed', async () => {
    const { hub, socket } = await watchingCompute([n('a', 'compute')]);

    // The snapshot showed a as compute: leaving the filter is a remove.
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'switch') });
    expect(socket.take()).toEqual([{ handler: 'remove', resource: 'nodes', id: 'a' }]);
    // The hub now knows a is a switch: another switch update sends nothing.
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'switch', { v: 2 }) });
    expect(socket.take()).toEqual([]);
  });

  it('a record never seen costs at most one harmless remove', async () => {
    const { hub, socket } = await watchingCompute();
    hub.publish({ channel: 'nodes', id: 'q', data: n('q', 'switch') });
    expect(socket.take()).toEqual([{ handler: 'remove', resource: 'nodes', id: 'q' }]);
    hub.publish({ channel: 'nodes', id: 'q', data: n('q', 'switch', { v: 2 }) });
    expect(socket.take()).toEqual([]);
  });

  it('a created record (prev null) that matches nothing sends nothing', async () => {
    const { hub, socket } = await watchingCompute();
    hub.publish({ channel: 'nodes', id: 'q', data: n('q', 'switch'), prev: null });
    expect(socket.take()).toEqual([]);
  });

  it('a watch on a field the remembered projection lacks still gets its remove', async () => {
    const source = new GatedSource();
    source.gated = false;
    source.rows.set('a', n('a', 'compute', { rack: 'r1' }));
    const { hub, open } = setup(source);
    const x = open();
    x.socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    await tick();
    // The hub remembers a's `type` only; now someone watches by rack.
    const y = open();
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'compute', { rack: 'r1', v: 2 }) });
    y.socket.deliver({ handler: 'watch', params: { rack: 'r1' } });
    await tick();
    y.socket.take();
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'compute', { rack: 'r2' }) });
    expect(y.socket.take()).toEqual([{ handler: 'remove', resource: 'nodes', id: 'a' }]);
  });
});

describe('watch index', () => {
  it('a change is evaluated only for connections whose equality keys it touches', async () => {
    const backend = new MemoryBackend({ seed: {} });
    const hub = new Hub({ source: backend, feed: backend });
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 50; i++) {
      const socket = new TestSocket();
      hub.accept(socket, { channel: 'logs' });
      socket.deliver({ handler: 'watch', params: { subject: `node-${i}` } });
      sockets.push(socket);
    }
    await tick();
    for (const s of sockets) s.take();
    const state = hub.channelState('logs')!;
    const entry = backend.append('logs', { subject: 'node-7', message: 'm' });
    const candidates = [...state.candidates({ seq: 0, id: entry.id as string, data: entry, prev: { kind: 'absent' } })];
    expect(candidates).toHaveLength(1);
    expect(sockets.map((s) => s.take().length)).toEqual(sockets.map((_, i) => (i === 7 ? 1 : 0)));
  });

  it('$in watches are indexed by each value', async () => {
    const backend = new MemoryBackend({ seed: {} });
    const hub = new Hub({ source: backend, feed: backend });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nodes' });
    socket.deliver({ handler: 'watch', params: { type: { $in: ['switch', 'pdu'] } } });
    await tick();
    socket.take();
    backend.upsert('nodes', n('p', 'pdu'));
    backend.upsert('nodes', n('c', 'compute'));
    backend.upsert('nodes', n('p', 'compute'));
    expect(socket.take()).toEqual([
      { handler: 'item', resource: 'nodes', id: 'p', data: n('p', 'pdu') },
      { handler: 'remove', resource: 'nodes', id: 'p' },
    ]);
  });
});

describe('fan-out: serialised once, decided once per filter', () => {
  it('every connection using one resource name gets the same frame object; another name, or a remove, its own', async () => {
    const backend = new MemoryBackend({ seed: { workflows: [{ instanceId: 'w1', node: 'n1' }] } });
    const hub = new Hub({ source: backend, feed: backend });
    const sockets = ['workflows', 'workflows', 'graphObjs', 'graphObjs'].map((channel) => {
      const socket = new FrameSocket();
      hub.accept(socket, { channel });
      socket.deliver({ handler: 'watch', params: { node: 'n1' } });
      return socket;
    });
    await tick();
    sockets.forEach((s) => s.take());
    backend.upsert('workflows', { instanceId: 'w1', node: 'n1', _status: 'running' });
    backend.upsert('workflows', { instanceId: 'w1', node: 'n2' });
    const [a, b, c, d] = sockets.map((s) => s.shared);
    expect(a![0]).toBe(b![0]);
    expect(c![0]).toBe(d![0]);
    expect(a![0]).not.toBe(c![0]);
    expect(a![1]).toBe(b![1]);
    expect(a![1]).not.toBe(a![0]);
    expect(sockets.map((s) => s.take().map((f) => [f.handler, (f as { resource: string }).resource]))).toEqual([
      [['item', 'workflows'], ['remove', 'workflows']],
      [['item', 'workflows'], ['remove', 'workflows']],
      [['item', 'graphObjs'], ['remove', 'graphObjs']],
      [['item', 'graphObjs'], ['remove', 'graphObjs']],
    ]);
  });

  it("one filter's verdict, shared by its connections, never decides for a connection with other watches", async () => {
    const source = new GatedSource();
    source.gated = false;
    source.rows.set('a', n('a', 'compute', { rack: 'r1' }));
    const { hub, open } = setup(source);
    const a = open();
    const b = open();
    const c = open();
    a.socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    b.socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    b.socket.deliver({ handler: 'watch', params: { rack: 'r1' } });
    c.socket.deliver({ handler: 'watch', params: { rack: 'r1' } });
    await tick();
    [a, b, c].forEach((x) => x.socket.take());
    const kinds = () => [a, b, c].map((x) => x.socket.take().map((f) => f.handler));
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'switch', { rack: 'r1' }) });
    expect(kinds()).toEqual([['remove'], ['item'], ['item']]);
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'switch', { rack: 'r2' }) });
    expect(kinds()).toEqual([[], ['remove'], ['remove']]);
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'compute', { rack: 'r2' }) });
    expect(kinds()).toEqual([['item'], ['item'], []]);
  });

  it('decides like the rule of DESIGN.md §3, evaluated per connection, on random watches and changes', async () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const pool: Params[] = [{}, { type: 'compute' }, { type: 'switch' }, { rack: 'r1' }, { type: { $in: ['pdu', 'switch'] } }, { rack: { $ne: 'r2' } }, { 'tags.0': 'x' }];
    const backend = new MemoryBackend({ seed: {} });
    const hub = new Hub({ source: backend, feed: backend });
    const conns = Array.from({ length: 12 }, () => {
      const socket = new FrameSocket();
      hub.accept(socket, { channel: 'nodes' });
      const watches = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(pool)))];
      for (const params of watches) socket.deliver({ handler: 'watch', params });
      return { socket, watches };
    });
    await tick();
    conns.forEach((c) => c.socket.take());
    const docs = new Map<string, Doc>();
    for (let i = 0; i < 400; i++) {
      const id = `n${Math.floor(random() * 8)}`;
      const prev = docs.get(id) ?? null;
      const data: Doc | null =
        random() < 0.15 ? null : { id, type: pick(['compute', 'switch', 'pdu']), rack: pick(['r1', 'r2']), tags: [pick(['x', 'y'])], v: i };
      if (data === null && prev === null) continue;
      if (data) docs.set(id, data);
      else docs.delete(id);
      hub.publish({ channel: 'nodes', id, data, prev });
      for (const c of conns) {
        const expected =
          data && c.watches.some((w) => matches(data, w))
            ? 'item'
            : prev && c.watches.some((w) => matches(prev, w))
              ? 'remove'
              : undefined;
        expect(c.socket.take().map((f) => f.handler)).toEqual(expected ? [expected] : []);
      }
    }
  });
});

describe('errors and recovery', () => {
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
        params: { code: 'source-unavailable', message: expect.stringContaining('connection refused'), request: { handler: 'watch', params: { type: 'x' } } },
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

  it('resnapshot re-sends a list for every watch on the channel', async () => {
    const source = new GatedSource();
    source.gated = false;
    source.rows.set('a', n('a', 'compute'));
    const { hub, open } = setup(source);
    const { socket } = open();
    socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    socket.deliver({ handler: 'watch', params: {} });
    await tick();
    socket.take();
    source.rows.set('b', n('b', 'compute'));
    hub.resnapshot('nodes');
    await tick();
    expect(socket.take().map((f) => f.handler === 'list' && [f.params, f.items.length])).toEqual([
      [{ type: 'compute' }, 2],
      [{}, 2],
    ]);
  });

  it('a throwing connection listener does not stop the connection', async () => {
    const { hub, open } = setup();
    hub.onConnection(() => {
      throw new Error('listener bug');
    });
    const { socket } = open();
    socket.deliver({ handler: 'init' });
    expect(socket.take()[0]!.handler).toBe('session');
  });

  it('an adapter with attach gets the connection itself and reports to it: no handlers are registered', async () => {
    const backend = new MemoryBackend({ seed: {} });
    const hub = new Hub({ source: backend, feed: backend });
    const frames: string[] = [];
    let events: SocketEvents | undefined;
    const socket: HubSocket = {
      send: (data) => frames.push(data),
      close: () => undefined,
      onMessage: () => expect.unreachable('onMessage with attach'),
      onClose: () => expect.unreachable('onClose with attach'),
      attach: (conn) => (events = conn),
    };
    const conn = hub.accept(socket, { channel: 'nodes' });
    expect(events).toBe(conn);
    events!.receive('{"handler":"init"}', false);
    expect(JSON.parse(frames[0]!)).toMatchObject({ handler: 'session', id: conn.id });
    const closes: number[] = [];
    conn.on('close', ({ code }) => closes.push(code));
    events!.ended(1000, '');
    expect([closes, hub.connections.size]).toEqual([[1000], 0]);
  });

  it('limits watches per connection with too-many-watches', async () => {
    const backend = new MemoryBackend({ seed: {} });
    const hub = new Hub({ source: backend, feed: backend, maxWatches: 2 });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nodes' });
    for (const t of ['a', 'b', 'c']) socket.deliver({ handler: 'watch', params: { type: t } });
    socket.deliver({ handler: 'watch', params: { type: 'a' } }); // re-watching an active watch is not a new one
    await tick();
    const frames = socket.take();
    expect(frames.filter((f) => f.handler === 'list')).toHaveLength(3);
    expect(frames.filter((f) => f.handler === 'error')).toEqual([
      expect.objectContaining({ params: expect.objectContaining({ code: 'too-many-watches', request: { handler: 'watch', params: { type: 'c' } } }) }),
    ]);
  });

  it('authorize refusals are forbidden errors', async () => {
    const backend = new MemoryBackend({ seed: {} });
    const hub = new Hub({ source: backend, feed: backend, authorize: (_p, channel) => channel !== 'catalogs' });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'catalogs' });
    socket.deliver({ handler: 'all' });
    socket.deliver({ handler: 'all', resource: 'nodes' });
    await tick();
    expect(socket.take().map((f) => f.handler === 'error' ? f.params.code : f.handler)).toEqual(['forbidden', 'list']);
  });
});

describe('channel activity', () => {
  it('reports a channel active at its first watch on any connection and idle after its last, once each', async () => {
    const { hub, open } = setup();
    const events: Array<[string, boolean]> = [];
    hub.onChannelActivity((channel, active) => events.push([channel, active]));
    const a = open('nodes');
    const b = open('nodes');
    a.socket.deliver({ handler: 'query', params: {} }); // a one-off read is not a watcher
    a.socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    a.socket.deliver({ handler: 'watch', params: { type: 'switch' } });
    b.socket.deliver({ handler: 'watch', params: {} });
    a.socket.deliver({ handler: 'watch', params: {}, resource: 'graphObjs' });
    expect(events).toEqual([
      ['nodes', true],
      ['workflows', true],
    ]);
    expect(hub.activeChannels().sort()).toEqual(['nodes', 'workflows']);
    a.socket.deliver({ handler: 'stop', params: { type: 'compute' } });
    a.socket.deliver({ handler: 'stop', params: { type: 'switch' } });
    expect(events).toHaveLength(2);
    b.socket.close(1000); // the last watcher of nodes leaves by closing
    a.socket.deliver({ handler: 'stop', params: {}, resource: 'graphObjs' });
    expect(events.slice(2)).toEqual([
      ['nodes', false],
      ['workflows', false],
    ]);
    expect(hub.activeChannels()).toEqual([]);
  });

  it('a throwing activity listener does not break the watch, and the unsubscribe function stops reports', async () => {
    const { hub, open } = setup();
    const seen: boolean[] = [];
    hub.onChannelActivity(() => {
      throw new Error('listener bug');
    });
    const off = hub.onChannelActivity((_c, active) => seen.push(active));
    const { socket } = open();
    socket.deliver({ handler: 'watch', params: {} });
    off();
    socket.deliver({ handler: 'stop', params: {} });
    expect(seen).toEqual([true]);
    expect(hub.stats().watches).toBe(0);
  });
});

describe('the coalescing window keeps a bounded memory of recent reads (issue 10: bounded caches)', () => {
  /**
   * Sends `count` queries with distinct params `params(i)` to a hub whose coalescing window never ends (its clock
   * stands still, so nothing noted is ever forgotten by time), on a source that answers at once; replies are counted
   * and dropped. Resolves with the number of replies.
   */
  async function readDistinct(count: number, params: (i: number) => Params, batch = 1, advanceAfterMs = 0): Promise<number> {
    const clock = manualClock();
    const backend = new MemoryBackend({ seed: {} });
    const hub = new Hub({ source: backend, coalesceWindowMs: 50, timers: clock.timers });
    let replies = 0;
    const socket = new (class extends TestSocket {
      override send(): void {
        replies++;
      }
    })();
    hub.accept(socket, { channel: 'nodes' });
    for (let i = 0; i < count; i++) {
      socket.deliver({ handler: 'query', params: params(i) });
      // Answered before the next batch is built, so the frames of only one batch are ever alive at once (and a batch
      // stays under DEFAULTS.maxReadsInFlight).
      if ((i + 1) % batch === 0) await tick();
    }
    await tick();
    expect(hub.stats()).toMatchObject({ sourceReads: count, coalescedReads: 0 });
    clock.advance(advanceAfterMs);
    // The hub is what the test keeps: whatever it still holds is what `retainedBy` measures.
    kept.push(hub, clock);
    return replies;
  }
  const kept: unknown[] = [];

  /** `$in` params whose canonical JSON is about `length` characters, different for every `i` (all within the input budget). */
  const inParams = (i: number, length: number): Params => {
    const values = Array.from({ length: Math.ceil(length / 1_000) }, (_, j) => `${i}.${j}.`.padEnd(998, 'v'));
    return { id: { $in: values } };
  };

  /** What a measurement moves by itself. */
  const noise = 1024 * 1024;

  it(`keeps nothing of reads whose key is over ${RECENT_READS.maxKeyLength} characters: 100 distinct 900 KB $in lists`, async () => {
    // Before the bounds: every key, held by the map and by the timer that was to forget it (86 MiB here).
    const bound = noise;
    let replies = 0;
    const grown = await retainedBy(async () => (replies = await readDistinct(100, (i) => inParams(i, 900_000))));
    expect(replies).toBe(100);
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });

  it('keeps a bounded total length of keys: 300 distinct 60 KB $in lists', async () => {
    // Keys at 2 bytes a code unit at worst.
    const bound = 2 * RECENT_READS.maxTotalLength + noise;
    let replies = 0;
    const grown = await retainedBy(async () => (replies = await readDistinct(300, (i) => inParams(i, 60_000))));
    expect(replies).toBe(300);
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });

  it('a read whose key it does not keep is not held back by the window; one it keeps is, until the sweep forgets it', async () => {
    const clock = manualClock();
    const backend = new MemoryBackend({ seed: {} });
    const hub = new Hub({ source: backend, coalesceWindowMs: 50, timers: clock.timers });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nodes' });
    const huge = inParams(0, RECENT_READS.maxKeyLength + 1_000);
    for (const params of [huge, huge, { type: 'a' }, { type: 'a' }]) {
      socket.deliver({ handler: 'query', params });
      await tick();
    }
    // Both huge reads went to the source at once; the second small one waits for the window of the first.
    expect(hub.stats()).toMatchObject({ sourceReads: 3, coalescedReads: 0 });
    clock.advance(50);
    await tick();
    expect(hub.stats().sourceReads).toBe(4);
    expect(socket.take().map((f) => f.handler)).toEqual(['list', 'list', 'list', 'list']);
    // After the window, the next read goes to the source at once.
    clock.advance(100);
    socket.deliver({ handler: 'query', params: { type: 'a' } });
    await tick();
    expect(hub.stats().sourceReads).toBe(5);
  });

  it('forgets every key two windows after its read: 3,000 distinct 1 KB filters', async () => {
    let replies = 0;
    const grown = await retainedBy(async () => (replies = await readDistinct(3_000, (i) => inParams(i, 1_000), 100, 100)));
    expect(replies).toBe(3_000);
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(noise);
  });

  it('keeps a bounded number of short keys: 30,000 distinct small filters', async () => {
    // About 320 bytes an entry for a key of 35 characters (measured: Map entry, the key and its string headers).
    const bound = 320 * RECENT_READS.maxEntries + noise;
    let replies = 0;
    const grown = await retainedBy(async () => (replies = await readDistinct(30_000, (i) => ({ name: `node-${i}` }), 200)));
    expect(replies).toBe(30_000);
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });
});
