/**
 * The watch index alone — filters shared by canonical params (named by a digest when long, never confused when two
 * digests collide), the equality index (values as they are, one entry per value and filter whoever holds it), and
 * which subscriptions a change may concern — then through the hub.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, type Doc, type Params } from '../../protocol/index.js';
import { Hub } from './hub.js';
import type { LoggedChange, Prev } from './record-memory.js';
import { n, TableBackend, TestSocket, tick } from '../../test/support/hub-doubles.js';
import { filterKeyOf, NO_WATCHES, watchOf, WatchIndex, type Filter, type Watcher } from './watch-index.js';

interface Sub extends Watcher {
  readonly name: string;
}

function indexWith(watches: Record<string, Params[]>) {
  const index = new WatchIndex<Sub>();
  const subs: Record<string, Sub> = {};
  for (const [name, list] of Object.entries(watches)) {
    const sub: Sub = { name, watches: NO_WATCHES };
    subs[name] = sub;
    for (const params of list) watch(index, sub, params);
  }
  return { index, subs };
}

/** `sub` watches `params` on `index`: the filter held there already, or a new one. */
const watch = (index: WatchIndex<Sub>, sub: Sub, params: Params): Filter => index.add(sub, index.filterFor(canonicalJson(params), params));
/** `sub` stops watching `params`, which it holds. */
const unwatch = (index: WatchIndex<Sub>, sub: Sub, params: Params): void => index.remove(sub, watchOf(sub, canonicalJson(params))!);
const holderCount = (f: Filter) => (f.holders instanceof Set ? f.holders.size : f.holders ? 1 : 0);

let seq = 0;
const change = (data: Doc | null, prev: Prev): LoggedChange => ({ seq: ++seq, pos: -1, id: 'a', data, prev });
const names = (subs: Iterable<Sub>) => [...subs].map((s) => s.name).sort();

describe('filters', () => {
  it('watches with the same canonical params share one filter, which goes with its last watch', () => {
    const { index, subs } = indexWith({ a: [{ type: 'compute', rack: 'r1' }], b: [{ rack: 'r1', type: 'compute' }] });
    const filter = subs.a!.watches[0]!;
    expect(subs.b!.watches[0]).toBe(filter);
    expect([index.filterCount, holderCount(filter), filter.fields]).toEqual([1, 2, ['type', 'rack']]);
    index.remove(subs.a!, filter);
    expect([index.filterCount, holderCount(filter), subs.a!.watches]).toEqual([1, 1, []]);
    index.remove(subs.b!, filter);
    expect([index.filterCount, index.subs.size]).toEqual([0, 0]);
    // Gone with its last holder: the same params make a new filter.
    expect(index.filterFor(canonicalJson({ type: 'compute', rack: 'r1' }), { type: 'compute', rack: 'r1' })).not.toBe(filter);
  });

  it("a subscription's watches are an exact array in the order added, replaced on every change, the shared empty one when none", () => {
    const { index, subs } = indexWith({ a: [{ type: 'x' }, { type: 'y' }, { type: 'z' }] });
    const a = subs.a!;
    const before = a.watches;
    expect(a.watches.map((f) => f.params)).toEqual([{ type: 'x' }, { type: 'y' }, { type: 'z' }]);
    unwatch(index, a, { type: 'y' });
    expect([a.watches.map((f) => f.params), before.length]).toEqual([[{ type: 'x' }, { type: 'z' }], 3]);
    expect(watchOf(a, canonicalJson({ type: 'z' }))?.params).toEqual({ type: 'z' });
    expect(watchOf(a, canonicalJson({ type: 'y' }))).toBeUndefined();
    unwatch(index, a, { type: 'x' });
    unwatch(index, a, { type: 'z' });
    expect(a.watches).toBe(NO_WATCHES);
    expect(index.subs.has(a)).toBe(false);
  });

  it('a filter nobody holds yet is only made: it costs the index nothing until it is added', () => {
    const { index, subs } = indexWith({ a: [{ type: 'x' }] });
    const unheld = index.filterFor(canonicalJson({ type: 'y' }), { type: 'y' });
    expect([unheld.holders, unheld.bytes > 0, index.filterCount]).toEqual([undefined, true, 1]);
    expect(index.filterFor(canonicalJson({ type: 'y' }), { type: 'y' })).not.toBe(unheld);
    expect([subs.a!.watches.length, index.subs.size]).toEqual([1, 1]);
  });

  it('an equality condition, or a $in of primitives, is indexed; other filters are not', () => {
    const { subs } = indexWith({
      a: [{ type: 'compute' }, { type: { $in: ['a', 1, true] } }, { type: { $ne: 'x' } }, {}, { tags: ['x'] }],
    });
    expect(subs.a!.watches.map((f) => f.indexed)).toEqual([
      { field: 'type', values: ['compute'] },
      { field: 'type', values: ['a', 1, true] },
      undefined,
      undefined,
      undefined,
    ]);
    // The $in list itself, not a copy: an index entry refers to the strings the params already hold.
    expect(subs.a!.watches[1]!.indexed!.values).toBe((subs.a!.watches[1]!.params.type as { $in: unknown[] }).$in);
  });

  it('tells 1 from "1" and true from "true", as equality does', () => {
    const { index } = indexWith({ num: [{ rack: { $in: [1, 2] } }], str: [{ rack: '1' }], bool: [{ rack: true }] });
    const created = (data: Doc) => names(index.candidates(change(data, { kind: 'absent' })));
    expect(created({ id: 'a', rack: 1 })).toEqual(['num']);
    expect(created({ id: 'b', rack: '1' })).toEqual(['str']);
    expect(created({ id: 'c', rack: [true, 2] })).toEqual(['bool', 'num']);
    expect(created({ id: 'd', rack: 'true' })).toEqual([]);
  });

  it('a value listed twice, and a filter shared by subscriptions, index once; the last holder leaving empties the index', () => {
    const { index, subs } = indexWith({ a: [], b: [], c: [{ type: 'compute' }] });
    const created = (data: Doc) => names(index.candidates(change(data, { kind: 'absent' })));
    const params = { type: { $in: ['compute', 'compute', 'switch'] } };
    const filter = watch(index, subs.a!, params);
    expect(watch(index, subs.b!, { type: { $in: ['compute', 'compute', 'switch'] } })).toBe(filter);
    expect(created({ id: 'x', type: 'compute' })).toEqual(['a', 'b', 'c']);
    index.remove(subs.a!, filter);
    expect(created({ id: 'x', type: 'switch' })).toEqual(['b']);
    index.remove(subs.b!, filter);
    expect(created({ id: 'x', type: 'switch' })).toEqual([]);
    expect(created({ id: 'x', type: 'compute' })).toEqual(['c']);
  });
});

describe('filter keys', () => {
  const long = (n: number): Params => ({ id: { $in: Array.from({ length: 20 }, (_, i) => `node-${n}-${i}`) } });

  it('short canonical params are their own key; long ones a digest, so a large filter holds its text once', () => {
    expect(filterKeyOf('{"type":"compute"}')).toBe('{"type":"compute"}');
    const key = filterKeyOf(canonicalJson(long(1)));
    expect(key).toMatch(/^#/);
    expect(key.length).toBeLessThan(32);
    expect(filterKeyOf(canonicalJson(long(2)))).not.toBe(key);
    const { index, subs } = indexWith({ a: [long(1)] });
    const filter = subs.a!.watches[0]!;
    expect(filter.key).toBe(key);
    // Found again by its canonical form: a second watcher shares it, a stop finds it.
    expect(index.filterFor(canonicalJson(long(1)), long(1))).toBe(filter);
    expect(watchOf(subs.a!, canonicalJson(long(1)))).toBe(filter);
  });

  it('two filters whose digests collide are never taken for each other: each keeps its own params and holders', () => {
    const { index, subs } = indexWith({ a: [], b: [] });
    const [a, b] = [subs.a!, subs.b!];
    const created = (id: string) => names(index.candidates(change({ id }, { kind: 'absent' })));
    const [p1, p2] = [long(1), long(2)];
    // A collision made by hand: a's filter (params p1) registered under the digest of p2.
    const forged = { ...index.filterFor(canonicalJson(p1), p1), key: filterKeyOf(canonicalJson(p2)) };
    index.add(a, forged);
    const real = index.filterFor(canonicalJson(p2), p2);
    expect(real).not.toBe(forged);
    expect(real.params).toBe(p2);
    index.add(b, real);
    expect(watchOf(a, canonicalJson(p2))).toBeUndefined();
    expect(watchOf(b, canonicalJson(p2))).toBe(real);
    expect(created('node-1-3')).toEqual(['a']);
    expect(created('node-2-3')).toEqual(['b']);
    // The filter outside the map leaves without taking the one inside along.
    index.remove(b, real);
    expect(index.filterFor(canonicalJson(p2), p2)).not.toBe(real);
    expect(created('node-1-3')).toEqual(['a']);
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
    const candidates = [...state.index.candidates({ seq: 0, pos: -1, id: entry.id as string, data: entry, prev: { kind: 'absent' } })];
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
