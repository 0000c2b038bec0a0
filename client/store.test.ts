import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matches } from '../protocol/matches.js';
import type { Doc, Params } from '../protocol/messages.js';
import { canonicalJson } from '../protocol/params.js';
import { mqMatches } from '../protocol/topic.js';
import { Store } from './store.js';

const ids = (store: Store) => store.getSnapshot().map((d) => d.id);
const node = (id: string, type = 'compute', extra: Doc = {}): Doc => ({ id, type, ...extra });

/** Records every snapshot a subscriber sees. */
function observe(store: Store): Array<readonly Doc[]> {
  const seen: Array<readonly Doc[]> = [];
  store.subscribe(() => seen.push(store.getSnapshot()));
  return seen;
}

describe('Store: list {params: P, items}', () => {
  it('upserts every item and holds it by P', () => {
    const s = new Store();
    s.applyList({ type: 'compute' }, [node('a'), node('b')]);
    expect(ids(s)).toEqual(['a', 'b']);
    expect(s.size).toBe(2);
    expect(s.get('a')).toEqual(node('a'));
  });

  it('drops P from an absent item it held and deletes it when no scope is left', () => {
    const s = new Store();
    s.applyList({ type: 'compute' }, [node('a'), node('b')]);
    s.applyList({ type: 'compute' }, [node('b')]);
    expect(ids(s)).toEqual(['b']);
  });

  it('keeps an absent item that another scope still holds', () => {
    const s = new Store();
    s.applyList({ type: 'compute' }, [node('a'), node('b')]);
    s.applyList({ name: 'x' }, [node('a', 'compute', { name: 'x' })]);
    s.applyList({ type: 'compute' }, [node('b')]);
    expect(ids(s)).toEqual(['a', 'b']);
  });

  it('deletes an absent unscoped item that matches P, keeps one that does not', () => {
    const s = new Store();
    s.applyItem('a', node('a'));
    s.applyItem('c', node('c', 'switch'));
    s.applyList({ type: 'compute' }, [node('b')]);
    expect(ids(s)).toEqual(['c', 'b']);
  });

  it('leaves an absent item held only by other scopes, even when it matches P', () => {
    const s = new Store();
    s.applyList({ name: 'x' }, [node('a', 'compute', { name: 'x' })]);
    s.applyList({ type: 'compute' }, []);
    expect(ids(s)).toEqual(['a']);
  });

  it('takes the id from idField and compares ids as strings', () => {
    const s = new Store({ idField: 'instanceId' });
    s.applyList({}, [{ instanceId: 7, name: 'g' }, { name: 'no id' }]);
    expect(s.get('7')).toEqual({ instanceId: 7, name: 'g' });
    expect(s.size).toBe(1);
  });

  it('canonicalises P: key order does not make a different scope', () => {
    const s = new Store();
    s.applyList({ type: 'compute', name: 'x' }, [node('a', 'compute', { name: 'x' })]);
    s.applyList({ name: 'x', type: 'compute' }, []);
    expect(s.size).toBe(0);
  });
});

describe('Store: list without params (older server)', () => {
  it('upserts every item and deletes nothing', () => {
    const s = new Store();
    s.applyList({}, [node('a'), node('b')]);
    s.applyList(undefined, [node('b', 'switch'), node('c')]);
    expect(ids(s)).toEqual(['a', 'b', 'c']);
    expect(s.get('b')?.type).toBe('switch');
  });
});

describe('Store: item {id, data}', () => {
  it('upserts and keeps the position of an updated item', () => {
    const s = new Store();
    s.applyList({}, [node('a'), node('b'), node('c')]);
    s.applyItem('b', node('b', 'switch'));
    s.applyItem('d', node('d'));
    expect(ids(s)).toEqual(['a', 'b', 'c', 'd']);
    expect(s.get('b')?.type).toBe('switch');
  });

  it('is held by exactly the active watches it matches', () => {
    const s = new Store();
    s.addWatch({ type: 'compute' });
    s.addWatch({ name: 'x' });
    s.applyItem('a', node('a', 'compute', { name: 'x' }));
    s.stop({ type: 'compute' });
    expect(ids(s)).toEqual(['a']); // still held by {name: 'x'}
    s.applyItem('a', node('a', 'compute', { name: 'y' })); // leaves {name: 'x'}: unscoped, but stays
    expect(ids(s)).toEqual(['a']);
    s.applyList({ type: 'compute' }, []); // unscoped and matching: gone
    expect(ids(s)).toEqual([]);
  });

  it('keeps scopes of one-off lists that are not watches', () => {
    const s = new Store();
    s.applyList({ type: 'compute' }, [node('a')]);
    s.addWatch({ name: 'x' });
    s.applyItem('a', node('a', 'switch')); // no longer matches the query, but the query scope is kept
    s.stop({ name: 'x' });
    expect(ids(s)).toEqual(['a']);
    s.stop({ type: 'compute' });
    expect(ids(s)).toEqual([]);
  });

  it('an item matching no watch stays until a list or remove says otherwise', () => {
    const s = new Store();
    s.addWatch({ type: 'switch' });
    s.applyItem('a', node('a'));
    s.applyList({ type: 'switch' }, []);
    expect(ids(s)).toEqual(['a']);
    s.applyRemove('a');
    expect(ids(s)).toEqual([]);
  });
});

describe('Store: remove', () => {
  it('remove {id} deletes the item; an unknown id is a no-op without notification', () => {
    const s = new Store();
    s.applyList({}, [node('a'), node('b')]);
    const seen = observe(s);
    s.applyRemove('a');
    s.applyRemove('zzz');
    expect(ids(s)).toEqual(['b']);
    expect(seen).toHaveLength(1);
  });

  it('remove {params} without id deletes every item matching params', () => {
    const s = new Store();
    s.applyList({}, [node('a'), node('b', 'switch'), node('c')]);
    s.applyRemove(undefined, { type: 'compute' });
    expect(ids(s)).toEqual(['b']);
  });

  it('remove with both id and params deletes only the id', () => {
    const s = new Store();
    s.applyList({}, [node('a'), node('b')]);
    s.applyRemove('a', { type: 'compute' });
    expect(ids(s)).toEqual(['b']);
  });
});

describe('Store: stop(P)', () => {
  it('drops scope P and the watch; items left with no scope are deleted', () => {
    const s = new Store();
    s.addWatch({ type: 'compute' });
    s.addWatch({ name: 'x' });
    s.applyList({ type: 'compute' }, [node('a'), node('b', 'compute', { name: 'x' })]);
    s.applyList({ name: 'x' }, [node('b', 'compute', { name: 'x' })]);
    s.stop({ type: 'compute' });
    expect(ids(s)).toEqual(['b']);
    expect(s.activeWatches()).toEqual([{ name: 'x' }]);
  });

  it('after stop, live items no longer join the stopped scope', () => {
    const s = new Store();
    s.addWatch({ type: 'compute' });
    s.stop({ type: 'compute' });
    s.applyItem('a', node('a'));
    s.applyList({ name: 'x' }, []);
    expect(ids(s)).toEqual(['a']);
  });

  it('addWatch is idempotent by canonical params', () => {
    const s = new Store();
    expect(s.addWatch({ a: 1, b: 2 })).toBe(true);
    expect(s.addWatch({ b: 2, a: 1 })).toBe(false);
    expect(s.activeWatches()).toEqual([{ a: 1, b: 2 }]);
  });
});

describe('Store: append-only', () => {
  it('list and item only add; a later list reconciles nothing away', () => {
    const s = new Store({ appendOnly: true });
    s.addWatch({ level: 'info' });
    s.applyList({ level: 'info' }, [
      { id: '1', level: 'info' },
      { id: '2', level: 'info' },
    ]);
    s.applyList({ level: 'info' }, [{ id: '3', level: 'info' }]);
    s.applyItem('4', { id: '4', level: 'debug' });
    expect(ids(s)).toEqual(['1', '2', '3', '4']);
    s.stop({ level: 'info' });
    expect(ids(s)).toEqual(['1', '2', '3', '4']);
    expect(s.activeWatches()).toEqual([]);
  });

  it('remove by id still deletes', () => {
    const s = new Store({ appendOnly: true });
    s.applyList({}, [{ id: '1' }, { id: '2' }]);
    s.applyRemove('1');
    expect(ids(s)).toEqual(['2']);
  });

  it('is a ring bounded by historyLimit that drops the oldest', () => {
    const s = new Store({ appendOnly: true, historyLimit: 3 });
    s.applyList(
      {},
      [1, 2, 3, 4].map((n) => ({ id: String(n) })),
    );
    expect(ids(s)).toEqual(['2', '3', '4']);
    s.applyItem('3', { id: '3', again: true }); // an update does not grow the ring
    expect(ids(s)).toEqual(['2', '3', '4']);
    s.applyItem('5', { id: '5' });
    s.applyItem('6', { id: '6' });
    expect(ids(s)).toEqual(['4', '5', '6']);
  });

  it('defaults to DEFAULTS.historyLimit (1000) entries', () => {
    const s = new Store({ appendOnly: true });
    s.applyList(
      {},
      Array.from({ length: 1005 }, (_, i) => ({ id: String(i) })),
    );
    expect(s.size).toBe(1000);
    expect(s.getSnapshot()[0]?.id).toBe('5');
  });
});

describe('Store: the watch matcher (the mq channel)', () => {
  const entry = (id: string, exchange: string, routingKey: string): Doc => ({ id, exchange, routingKey, payload: {} });
  const graph = { exchange: 'on.events', routingKey: 'graph.#' };
  const every = { exchange: 'on.events', routingKey: '#' };
  const errors = { exchange: 'on.logging', routingKey: 'error' };

  it('with mqMatches, an entry is held by the watches whose exchange and topic pattern it matches', () => {
    const s = new Store({ appendOnly: true }, mqMatches);
    for (const params of [graph, every, errors]) s.addWatch(params);
    s.applyItem('1', entry('1', 'on.events', 'graph.started.information.g1.n1'));
    s.applyItem('2', entry('2', 'on.events', 'node.discovered.information.n1.n1'));
    s.applyItem('3', entry('3', 'on.logging', 'error'));
    s.applyItem('4', entry('4', 'on.logging', 'info'));
    const held = (params: Params) => s.held(canonicalJson(params)).map((e) => e.id);
    expect([held(graph), held(every), held(errors)]).toEqual([['1'], ['1', '2'], ['3']]);
  });

  it('regression: without it, a topic pattern is an equal value and holds no entry after its list', () => {
    const s = new Store({ appendOnly: true });
    s.addWatch(every);
    s.applyList(every, [entry('1', 'on.events', 'graph.started.information.g1.n1')]);
    s.applyItem('2', entry('2', 'on.events', 'graph.finished.information.g1.n1'));
    expect(s.held(canonicalJson(every)).map((e) => e.id)).toEqual(['1']);
  });

  it('also decides remove {params}', () => {
    const s = new Store({ appendOnly: true }, mqMatches);
    s.applyList({}, [entry('1', 'on.events', 'graph.started.g1'), entry('2', 'on.events', 'node.added.n1')]);
    s.applyRemove(undefined, graph);
    expect(ids(s)).toEqual(['2']);
  });
});

describe('Store: scopes for live queries (track, held)', () => {
  it('held(P) is what the scope P holds, in arrival order: not what other lists or gets brought', () => {
    const s = new Store();
    s.addWatch({ type: 'compute' });
    s.applyList({ type: 'compute' }, [node('a'), node('b')]);
    s.applyList({ type: 'switch' }, [node('s', 'switch')]);
    s.applyItem('p', node('p', 'pdu'));
    s.applyItem('c', node('c'));
    expect(s.held(canonicalJson({ type: 'compute' }))).toEqual([node('a'), node('b'), node('c')]);
    s.applyItem('a', node('a', 'switch'));
    expect(s.held(canonicalJson({ type: 'compute' }))).toEqual([node('b'), node('c')]);
  });

  it('track() lists every scope whose records changed, once each: joined, left, updated or deleted', () => {
    const s = new Store();
    const compute = canonicalJson({ type: 'compute' });
    const named = canonicalJson({ name: 'x' });
    s.addWatch({ type: 'compute' });
    s.addWatch({ name: 'x' });
    const touched = s.track();
    expect(s.track()).toBe(touched);
    s.applyList({ type: 'compute' }, [node('a', 'compute', { name: 'x' }), node('b')]);
    expect(touched).toEqual([compute]);
    touched.length = 0;
    s.applyList({ type: 'compute' }, [node('a', 'compute', { name: 'x' }), node('b')]);
    s.applyItem('z', node('z', 'pdu'));
    expect([...touched]).toEqual([]);
    s.applyItem('a', node('a', 'compute', { name: 'x', v: 2 }));
    expect([...touched].sort()).toEqual([compute, named].sort());
    touched.length = 0;
    s.applyRemove('b');
    expect([...touched]).toEqual([compute]);
    touched.length = 0;
    s.stop({ name: 'x' });
    expect([...touched]).toEqual([named]);
  });

  it('an append-only store keeps scopes too, without ever deleting for lack of one', () => {
    const s = new Store({ appendOnly: true, historyLimit: 3 });
    const a = canonicalJson({ graph: 'A' });
    s.addWatch({ graph: 'A' });
    s.applyList({ graph: 'A' }, [{ id: '1', graph: 'A' }]);
    s.applyItem('2', { id: '2', graph: 'B' });
    s.applyItem('3', { id: '3', graph: 'A' });
    expect(s.held(a).map((d) => d.id)).toEqual(['1', '3']);
    s.applyItem('4', { id: '4', graph: 'B' });
    expect(s.held(a).map((d) => d.id)).toEqual(['3']);
    s.stop({ graph: 'A' });
    expect(s.held(a)).toEqual([]);
    expect(ids(s)).toEqual(['2', '3', '4']);
  });
});

describe('Store: snapshots and notifications', () => {
  it('getSnapshot is frozen and the same reference until something changes', () => {
    const s = new Store();
    const empty = s.getSnapshot();
    expect(Object.isFrozen(empty)).toBe(true);
    expect(s.getSnapshot()).toBe(empty);
    s.applyList({}, [node('a')]);
    const one = s.getSnapshot();
    expect(one).not.toBe(empty);
    expect(Object.isFrozen(one)).toBe(true);
    expect(s.getSnapshot()).toBe(one);
  });

  it('an equal re-snapshot keeps the snapshot, the item objects and notifies nobody', () => {
    const s = new Store();
    s.addWatch({});
    s.applyList({}, [node('a'), node('b')]);
    const before = s.getSnapshot();
    const seen = observe(s);
    s.applyList({}, [node('a'), node('b')]);
    s.applyItem('a', node('a'));
    s.stop({ nothing: 'here' });
    expect(s.getSnapshot()).toBe(before);
    expect(seen).toHaveLength(0);
    s.applyItem('a', node('a', 'switch'));
    expect(s.getSnapshot()).not.toBe(before);
    expect(s.getSnapshot()[1]).toBe(before[1]);
    expect(seen).toHaveLength(1);
  });

  it('notifies once per applied message, never with an emptied-then-refilled store', () => {
    const s = new Store();
    s.applyList({ type: 'compute' }, [node('a'), node('b'), node('c')]);
    const seen = observe(s);
    s.applyList({ type: 'compute' }, [node('c', 'compute', { v: 2 }), node('b'), node('d')]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.map((d) => d.id)).toEqual(['b', 'c', 'd']);
  });

  it('no subscriber sees an item missing that is there before and after a reconnect re-snapshot', () => {
    const s = new Store();
    const watches: Params[] = [{ type: 'compute' }, { name: 'x' }, {}];
    for (const w of watches) s.addWatch(w);
    const source = [node('a'), node('b', 'switch', { name: 'x' }), node('c')];
    for (const w of watches)
      s.applyList(
        w,
        source.filter((d) => matches(d, w)),
      );
    const seen = observe(s);
    // The source changed while offline: b was updated, c deleted. Snapshots come back one by one.
    const next = [node('a'), node('b', 'switch', { name: 'x', v: 2 })];
    for (const w of watches)
      s.applyList(
        w,
        next.filter((d) => matches(d, w)),
      );
    for (const snapshot of seen) {
      const present = snapshot.map((d) => d.id);
      expect(present).toEqual(expect.arrayContaining(['a', 'b']));
    }
    expect(ids(s)).toEqual(['a', 'b']);
  });

  it('unsubscribe stops notifications; a throwing subscriber does not starve the others', () => {
    const s = new Store();
    let calls = 0;
    const off = s.subscribe(() => calls++);
    s.subscribe(() => {
      throw new Error('boom');
    });
    let after = 0;
    s.subscribe(() => after++);
    expect(() => s.applyItem('a', node('a'))).toThrow('boom');
    expect([calls, after]).toEqual([1, 1]);
    expect(ids(s)).toEqual(['a']);
    off();
    expect(() => s.applyItem('b', node('b'))).toThrow('boom');
    expect([calls, after]).toEqual([1, 2]);
  });
});

describe('Store: overlapping snapshots in any order give the same set (property)', () => {
  const doc = fc.record({
    id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
    type: fc.constantFrom('compute', 'switch', 'pdu'),
    name: fc.constantFrom('x', 'y'),
    v: fc.nat(3),
  });
  const source = fc.uniqueArray(doc, { selector: (d) => d.id, maxLength: 6 });
  const filter: fc.Arbitrary<Params> = fc.oneof(
    fc.constant({}),
    fc.record({ type: fc.constantFrom('compute', 'switch', 'pdu') }),
    fc.record({ name: fc.constantFrom('x', 'y') }),
    fc.record({ type: fc.constantFrom('compute', 'switch'), name: fc.constantFrom('x', 'y') }),
    fc.record({ v: fc.record({ $gte: fc.nat(3) }) }),
  );
  const filters = fc.uniqueArray(filter, { selector: (p) => JSON.stringify(p), minLength: 1, maxLength: 4 });

  const permuted = filters.chain((ps) => fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length })));

  const expected = (src: Doc[], ps: Params[]) =>
    src
      .filter((d) => ps.some((p) => matches(d, p)))
      .map((d) => JSON.stringify(d))
      .sort();
  const actual = (s: Store) =>
    s
      .getSnapshot()
      .map((d) => JSON.stringify(d))
      .sort();

  it('fresh store: any permutation of the lists yields the union of what they list', () => {
    fc.assert(
      fc.property(source, permuted, (src, [ps, order]) => {
        const s = new Store();
        for (const p of ps) s.addWatch(p);
        for (const p of order)
          s.applyList(
            p,
            src.filter((d) => matches(d, p)),
          );
        expect(actual(s)).toEqual(expected(src, ps));
      }),
    );
  });

  it('re-snapshot after the source changed: both orders converge on the new source', () => {
    fc.assert(
      fc.property(source, source, filters, fc.boolean(), (before, after, ps, reverse) => {
        const s = new Store();
        for (const p of ps) s.addWatch(p);
        for (const p of ps)
          s.applyList(
            p,
            before.filter((d) => matches(d, p)),
          );
        const order = reverse ? [...ps].reverse() : ps;
        for (const p of order)
          s.applyList(
            p,
            after.filter((d) => matches(d, p)),
          );
        expect(actual(s)).toEqual(expected(after, ps));
      }),
    );
  });

  it('permutations of the same lists give identical final sets', () => {
    fc.assert(
      fc.property(source, permuted, (src, [ps, shuffled]) => {
        const run = (order: Params[]) => {
          const s = new Store();
          for (const p of order)
            s.applyList(
              p,
              src.filter((d) => matches(d, p)),
            );
          return actual(s);
        };
        expect(run(shuffled)).toEqual(run(ps));
      }),
    );
  });
});
