/**
 * The hub as the object adapters and servers use: accepting sockets (with or without `attach`), listeners,
 * broadcast, re-snapshots, channel activity, stats and close. What it wires together has its own tests: dispatch,
 * reads, fan-out, the watch index, the per-record memory.
 */
import { describe, expect, it } from 'vitest';
import { Hub } from './hub.js';
import type { Logger } from './logger.js';
import type { HubSocket, SocketEvents } from './socket.js';
import { FrameSocket, GatedSource, n, setup, TableBackend, TestSocket, tick } from '../../test/support/hub-doubles.js';

describe('connections', () => {
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
    const backend = new TableBackend();
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
});

describe('broadcast, publish, stats, close', () => {
  it('broadcast sends one shared frame to every connection but those skipped (an id, ids, or a predicate)', () => {
    const { hub } = setup();
    const sockets = [0, 1, 2].map(() => new FrameSocket());
    const ids = sockets.map((s) => hub.accept(s, { channel: 'nodes' }).id);
    expect(hub.broadcast({ hello: 1 })).toBe(3);
    expect(hub.broadcast('{"hello":2}', ids[0])).toBe(2);
    expect(hub.broadcast({ hello: 3 }, [ids[0]!, ids[1]!])).toBe(1);
    expect(hub.broadcast({ hello: 4 }, (c) => c.id !== ids[1])).toBe(1);
    expect(sockets.map((s) => s.take().map((f) => (f as unknown as { hello: number }).hello))).toEqual([[1], [1, 2, 4], [1, 2, 3]]);
    expect(sockets[0]!.shared[0]).toBe(sockets[1]!.shared[0]);
  });

  it('a throwing skip predicate is logged and skips nobody', () => {
    const errors: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (msg) => void errors.push(msg) };
    const hub = new Hub({ source: new GatedSource(), logger });
    hub.accept(new TestSocket(), { channel: 'nodes' });
    const sent = hub.broadcast('{}', () => {
      throw new Error('predicate bug');
    });
    expect([sent, errors]).toEqual([1, ['broadcast skip predicate threw']]);
  });

  it('a change for a channel the hub does not serve is logged and dropped; the others are counted', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (msg) => void warnings.push(msg), error() {} };
    const backend = new TableBackend();
    const hub = new Hub({ source: backend, feed: backend, logger });
    hub.publish({ channel: 'nope', id: 'x', data: null });
    backend.upsert('graphObjs', { instanceId: 'w1' });
    expect([warnings, hub.stats().changes, hub.channelState('graphObjs')!.seq]).toEqual([['change for unknown channel dropped'], 1, 1]);
  });

  it('stats count connections, watches on every channel and what they hold, reads and changes', async () => {
    const backend = new TableBackend({ nodes: [n('a', 'compute')] });
    const { hub, open } = setup(backend);
    const { socket } = open();
    open();
    socket.deliver({ handler: 'watch', params: {} });
    socket.deliver({ handler: 'watch', params: {}, resource: 'skus' });
    await tick();
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'switch') });
    // Both watches are `{}`: on two channels, two filters of the same size, each charged to the connection.
    const { bytes } = hub.channelState('nodes')!.filterFor('{}', {});
    expect(hub.stats()).toEqual({
      connections: 2,
      watches: 2,
      watchBytes: 2 * bytes,
      sourceReads: 2,
      coalescedReads: 0,
      changes: 1,
      resumes: 0,
      resumesRefused: 0,
    });
  });

  it('close closes every connection with 1001 and stops listening to the feed', () => {
    const backend = new TableBackend();
    const hub = new Hub({ source: backend, feed: backend });
    const sockets = [new TestSocket(), new TestSocket()];
    for (const s of sockets) hub.accept(s, { channel: 'nodes' });
    hub.close();
    backend.upsert('nodes', n('a', 'compute'));
    expect([sockets.map((s) => s.closedWith), hub.connections.size, hub.stats().changes]).toEqual([[1001, 1001], 0, 0]);
  });
});

describe('re-snapshots', () => {
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
