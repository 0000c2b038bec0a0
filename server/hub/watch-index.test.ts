/**
 * The watch index alone — filters shared by canonical params, the equality index, and which subscriptions a change
 * may concern — then through the hub.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, type Doc, type Params } from '../../protocol/index.js';
import { Hub } from './hub.js';
import type { LoggedChange, Prev } from './record-memory.js';
import { n, TableBackend, TestSocket, tick } from '../../test/support/hub-doubles.js';
import { indexKeyOf, NO_WATCHES, watchOf, WatchIndex, type Watcher } from './watch-index.js';

interface Sub extends Watcher {
  readonly name: string;
}

function indexWith(watches: Record<string, Params[]>) {
  const index = new WatchIndex<Sub>();
  const subs: Record<string, Sub> = {};
  for (const [name, list] of Object.entries(watches)) {
    const sub: Sub = { name, watches: NO_WATCHES };
    subs[name] = sub;
    for (const params of list) index.add(sub, canonicalJson(params), params);
  }
  return { index, subs };
}

let seq = 0;
const change = (data: Doc | null, prev: Prev): LoggedChange => ({ seq: ++seq, id: 'a', data, prev });
const names = (subs: Iterable<Sub>) => [...subs].map((s) => s.name).sort();

describe('filters', () => {
  it('watches with the same canonical params share one filter, which goes with its last watch', () => {
    const { index, subs } = indexWith({ a: [{ type: 'compute', rack: 'r1' }], b: [{ rack: 'r1', type: 'compute' }] });
    const filter = subs.a!.watches[0]!;
    expect(subs.b!.watches[0]).toBe(filter);
    expect([index.filterCount, filter.refs, filter.fields]).toEqual([1, 2, ['type', 'rack']]);
    index.remove(subs.a!, filter.key);
    expect([index.filterCount, filter.refs, subs.a!.watches]).toEqual([1, 1, []]);
    index.remove(subs.b!, filter.key);
    expect([index.filterCount, index.subs.size]).toEqual([0, 0]);
  });

  it("a subscription's watches are an exact array in the order added, replaced on every change, the shared empty one when none", () => {
    const { index, subs } = indexWith({ a: [{ type: 'x' }, { type: 'y' }, { type: 'z' }] });
    const a = subs.a!;
    const before = a.watches;
    expect(a.watches.map((f) => f.params)).toEqual([{ type: 'x' }, { type: 'y' }, { type: 'z' }]);
    index.remove(a, canonicalJson({ type: 'y' }));
    expect([a.watches.map((f) => f.params), before.length]).toEqual([[{ type: 'x' }, { type: 'z' }], 3]);
    expect(watchOf(a, canonicalJson({ type: 'z' }))?.params).toEqual({ type: 'z' });
    index.remove(a, canonicalJson({ type: 'x' }));
    index.remove(a, canonicalJson({ type: 'z' }));
    expect(a.watches).toBe(NO_WATCHES);
    expect(index.subs.has(a)).toBe(false);
  });

  it('removing a watch the subscription does not hold changes nothing', () => {
    const { index, subs } = indexWith({ a: [{ type: 'x' }] });
    expect(index.remove(subs.a!, canonicalJson({ type: 'y' }))).toBeUndefined();
    expect([subs.a!.watches.length, index.subs.size, index.filterCount]).toEqual([1, 1, 1]);
  });

  it('an equality condition, or a $in of primitives, is indexed; other filters are not', () => {
    const { subs } = indexWith({ a: [{ type: 'compute' }, { type: { $in: ['a', 1, true] } }, { type: { $ne: 'x' } }, {}, { tags: ['x'] }] });
    expect(subs.a!.watches.map((f) => f.indexed)).toEqual([
      { field: 'type', keys: ['scompute'] },
      { field: 'type', keys: ['sa', 'n1', 'bt'] },
      undefined,
      undefined,
      undefined,
    ]);
    // Keys keep types apart: the string "1" is not the number 1.
    expect([indexKeyOf('1'), indexKeyOf(1), indexKeyOf(false), indexKeyOf(null)]).toEqual(['s1', 'n1', 'bf', undefined]);
  });
});

describe('candidates', () => {
  const watching = () =>
    indexWith({
      compute: [{ type: 'compute' }],
      switch: [{ type: 'switch' }],
      pduOrSwitch: [{ type: { $in: ['pdu', 'switch'] } }],
      notR2: [{ rack: { $ne: 'r2' } }],
      both: [{ type: 'compute' }, { rack: 'r1' }],
    });

  it('only subscriptions whose equality keys the record has now or had before, plus those with unindexed watches', () => {
    const { index } = watching();
    expect(names(index.candidates(change(n('a', 'compute'), { kind: 'absent' })))).toEqual(['both', 'compute', 'notR2']);
    expect(names(index.candidates(change(n('a', 'pdu'), { kind: 'doc', doc: n('a', 'switch') })))).toEqual([
      'notR2',
      'pduOrSwitch',
      'switch',
    ]);
    expect(names(index.candidates(change(null, { kind: 'doc', doc: n('a', 'other', { rack: 'r1' }) })))).toEqual(['both', 'notR2']);
  });

  it('array fields offer each element as a key', () => {
    const { index } = indexWith({ x: [{ tags: 'x' }], y: [{ tags: 'y' }] });
    expect(names(index.candidates(change({ id: 'a', tags: ['x', 'z'] }, { kind: 'absent' })))).toEqual(['x']);
  });

  it('every watching subscription when the record before is unknown, or remembered without an indexed field', () => {
    const { index } = watching();
    const all = ['both', 'compute', 'notR2', 'pduOrSwitch', 'switch'];
    expect(names(index.candidates(change(n('a', 'other'), { kind: 'unknown' })))).toEqual(all);
    const projected: Prev = { kind: 'doc', doc: { rack: 'r1' }, fields: new Set(['rack']) };
    expect(names(index.candidates(change(n('a', 'other'), projected)))).toEqual(all);
  });

  it('a subscription with overlapping watches is a candidate once', () => {
    const { index } = indexWith({ a: [{ type: 'compute' }, { rack: 'r1' }, { type: { $in: ['compute'] } }] });
    expect(names(index.candidates(change(n('a', 'compute', { rack: 'r1' }), { kind: 'absent' })))).toEqual(['a']);
  });
});

describe('through the hub', () => {
  it('a change is evaluated only for connections whose equality keys it touches', async () => {
    const backend = new TableBackend();
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
    const candidates = [...state.index.candidates({ seq: 0, id: entry.id as string, data: entry, prev: { kind: 'absent' } })];
    expect(candidates).toHaveLength(1);
    expect(sockets.map((s) => s.take().length)).toEqual(sockets.map((_, i) => (i === 7 ? 1 : 0)));
  });

  it('$in watches are indexed by each value', async () => {
    const backend = new TableBackend();
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
