/**
 * The fan-out of a change: its frames (serialised once per resource name and kind, shared by every connection), the
 * walk from a change to the subscriptions it concerns on a channel alone, then through the hub, against the rule of
 * PROTOCOL.md "Overlapping watches" on random watches and changes.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, matches, stringifyMessage, type Doc, type Params } from '../../protocol/index.js';
import { ChannelState, subscription } from './channel-state.js';
import { deliver, fanOut, frameOf } from './fanout.js';
import { Hub } from './hub.js';
import type { LoggedChange } from './record-memory.js';
import type { SharedFrame } from './socket.js';
import { FrameSocket, GatedSource, n, setup, specOf, TableBackend, tick } from '../../test/support/hub-doubles.js';

describe('frames', () => {
  const change = (): LoggedChange => ({ seq: 1, pos: -1, id: 'w1', data: { instanceId: 'w1' }, prev: { kind: 'unknown' } });
  const state = new ChannelState(specOf('workflows'));

  it('one frame per resource name and kind, serialised once and then shared', () => {
    const c = change();
    const item = frameOf(state, c, 'item', 'workflows');
    expect(frameOf(state, c, 'item', 'workflows')).toBe(item);
    expect(frameOf(state, c, 'item', 'graphObjs')).not.toBe(item);
    expect(frameOf(state, c, 'remove', 'workflows')).not.toBe(item);
    expect(c.frames).toHaveLength(3);
    expect(item.text).toBe(stringifyMessage({ handler: 'item', resource: 'workflows', id: 'w1', data: { instanceId: 'w1' } }));
    expect(frameOf(state, c, 'remove', 'graphObjs').text).toBe(stringifyMessage({ handler: 'remove', resource: 'graphObjs', id: 'w1' }));
  });
});

describe('a change on one channel, without a hub', () => {
  /** A channel with one subscription per entry of `watches`, each recording the frames it is sent. */
  function channelWith(watches: Params[][]) {
    const state = new ChannelState(specOf('nodes'));
    const subs = watches.map((list) => {
      const frames: SharedFrame[] = [];
      const sub = subscription('nodes', state, { sendFrame: (f) => frames.push(f), watchCount: 0, watchBytes: 0 });
      for (const params of list) state.addWatch(sub, state.filterFor(canonicalJson(params), params));
      return { sub, frames };
    });
    const held: LoggedChange[] = [];
    return { state, subs, held, holder: { hold: (_s: ChannelState, c: LoggedChange) => void held.push(c) } };
  }

  it('records the change, hands it to the reads, and sends each concerned subscription one shared frame', () => {
    const { state, subs, held, holder } = channelWith([[{ type: 'compute' }], [{ type: 'compute' }], [{ type: 'switch' }]]);
    fanOut(state, { channel: 'nodes', id: 'a', data: n('a', 'compute'), prev: null }, holder);
    expect(held.map((c) => [c.seq, c.id])).toEqual([[1, 'a']]);
    const [a, b, c] = subs.map((s) => s.frames);
    expect([a!.length, b!.length, c!.length]).toEqual([1, 1, 0]);
    expect(a![0]).toBe(b![0]);
  });

  it('skips a subscription with a read in flight (its snapshot is followed by the held change)', () => {
    const { state, subs, held, holder } = channelWith([[{}], [{}]]);
    subs[0]!.sub.inflight = 1;
    fanOut(state, { channel: 'nodes', id: 'a', data: n('a', 'compute'), prev: null }, holder);
    expect([subs[0]!.frames.length, subs[1]!.frames.length, held.length]).toEqual([0, 1, 1]);
  });

  it('a channel nobody watches still records and holds the change, and sends nothing', () => {
    const { state, held, holder } = channelWith([]);
    fanOut(state, { channel: 'nodes', id: 'a', data: n('a', 'compute') }, holder);
    expect([state.seq, held.length]).toEqual([1, 1]);
  });

  it('deliver sends what the decision says, or nothing', () => {
    const { state, subs } = channelWith([[{ type: 'compute' }]]);
    const { sub, frames } = subs[0]!;
    const leave = state.record({ channel: 'nodes', id: 'a', data: n('a', 'switch'), prev: n('a', 'compute') });
    const stay = state.record({ channel: 'nodes', id: 'b', data: n('b', 'pdu'), prev: n('b', 'switch') });
    deliver(state, sub, leave);
    deliver(state, sub, stay);
    expect(frames.map((f) => JSON.parse(f.text) as unknown)).toEqual([{ handler: 'remove', resource: 'nodes', id: 'a' }]);
  });
});

describe('through the hub: serialised once, decided once per filter', () => {
  it('every connection using one resource name gets the same frame object; another name, or a remove, its own', async () => {
    const backend = new TableBackend({ workflows: [{ instanceId: 'w1', node: 'n1' }] });
    const hub = new Hub({ source: backend, feed: backend });
    const sockets = ['workflows', 'workflows', 'graphObjs', 'graphObjs'].map((channel) => {
      const socket = new FrameSocket();
      hub.accept(socket, { channel });
      socket.deliver({ handler: 'watch', params: { node: 'n1' } });
      return socket;
    });
    await tick();
    for (const s of sockets) s.take();
    backend.upsert('workflows', { instanceId: 'w1', node: 'n1', _status: 'running' });
    backend.upsert('workflows', { instanceId: 'w1', node: 'n2' });
    const [a, b, c, d] = sockets.map((s) => s.shared);
    expect(a![0]).toBe(b![0]);
    expect(c![0]).toBe(d![0]);
    expect(a![0]).not.toBe(c![0]);
    expect(a![1]).toBe(b![1]);
    expect(a![1]).not.toBe(a![0]);
    expect(sockets.map((s) => s.take().map((f) => [f.handler, (f as { resource: string }).resource]))).toEqual([
      [
        ['item', 'workflows'],
        ['remove', 'workflows'],
      ],
      [
        ['item', 'workflows'],
        ['remove', 'workflows'],
      ],
      [
        ['item', 'graphObjs'],
        ['remove', 'graphObjs'],
      ],
      [
        ['item', 'graphObjs'],
        ['remove', 'graphObjs'],
      ],
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
    for (const x of [a, b, c]) x.socket.take();
    const kinds = () => [a, b, c].map((x) => x.socket.take().map((f) => f.handler));
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'switch', { rack: 'r1' }) });
    expect(kinds()).toEqual([['remove'], ['item'], ['item']]);
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'switch', { rack: 'r2' }) });
    expect(kinds()).toEqual([[], ['remove'], ['remove']]);
    hub.publish({ channel: 'nodes', id: 'a', data: n('a', 'compute', { rack: 'r2' }) });
    expect(kinds()).toEqual([['item'], ['item'], []]);
  });

  it('decides like the rule of docs/architecture.md, evaluated per connection, on random watches and changes', async () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const pool: Params[] = [
      {},
      { type: 'compute' },
      { type: 'switch' },
      { rack: 'r1' },
      { type: { $in: ['pdu', 'switch'] } },
      { rack: { $ne: 'r2' } },
      { 'tags.0': 'x' },
    ];
    const backend = new TableBackend();
    const hub = new Hub({ source: backend, feed: backend });
    const conns = Array.from({ length: 12 }, () => {
      const socket = new FrameSocket();
      hub.accept(socket, { channel: 'nodes' });
      const watches = [...new Set(Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(pool)))];
      for (const params of watches) socket.deliver({ handler: 'watch', params });
      return { socket, watches };
    });
    await tick();
    for (const c of conns) c.socket.take();
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
          data && c.watches.some((w) => matches(data, w)) ? 'item' : prev && c.watches.some((w) => matches(prev, w)) ? 'remove' : undefined;
        expect(c.socket.take().map((f) => f.handler)).toEqual(expected ? [expected] : []);
      }
    }
  });
});
