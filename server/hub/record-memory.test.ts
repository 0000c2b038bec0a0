/**
 * The per-record memory and the item/remove decision: the decision alone on hand-made changes (item when a watch
 * matches now; remove when the record was deleted or matched one before and matches none now; nothing otherwise;
 * an unknown previous record costs one harmless remove), the memory alone (only the fields watches read, only while
 * watched, what snapshots add), then both through the hub; and the memory's bound on the sets of watched fields its
 * records refer to (`FIELD_GENERATIONS`).
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, type Doc, type Params } from '../../protocol/index.js';
import { mib, retainedBy } from '../../test/support/heap.js';
import { decide, FIELD_GENERATIONS, RecordMemory, type LoggedChange, type Prev } from './record-memory.js';
import { GatedSource, n, setup, specOf, tick } from '../../test/support/hub-doubles.js';
import { makeFilter } from './watch-index.js';

const filter = (params: Params) => makeFilter(canonicalJson(params), params);
let seq = 0;
/** A change of record `a` (a new sequence number each, as the channel numbers them). */
const change = (data: Doc | null, prev: Prev): LoggedChange => ({ seq: ++seq, pos: -1, id: 'a', data, prev });
const was = (doc: Doc, fields?: string[]): Prev => (fields ? { kind: 'doc', doc, fields: new Set(fields) } : { kind: 'doc', doc });
const ABSENT: Prev = { kind: 'absent' };
const UNKNOWN: Prev = { kind: 'unknown' };

describe('the item/remove decision, alone', () => {
  const compute = filter({ type: 'compute' });

  it('item when the record matches a watch now, whatever it was before', () => {
    for (const prev of [ABSENT, UNKNOWN, was(n('a', 'compute')), was(n('a', 'switch'))]) {
      expect(decide([compute], change(n('a', 'compute'), prev), false)).toBe('item');
    }
  });

  it('remove when it matched a watch before and matches none now, or was deleted', () => {
    expect(decide([compute], change(n('a', 'switch'), was(n('a', 'compute'))), false)).toBe('remove');
    expect(decide([compute], change(null, was(n('a', 'compute'))), false)).toBe('remove');
  });

  it('nothing when it neither matches now nor matched before', () => {
    expect(decide([compute], change(n('a', 'switch'), was(n('a', 'pdu'))), false)).toBeUndefined();
    expect(decide([compute], change(null, was(n('a', 'switch'))), false)).toBeUndefined();
    // Created (absent before) and not matching: nothing to take back.
    expect(decide([compute], change(n('a', 'switch'), ABSENT), false)).toBeUndefined();
  });

  it('unknown before: a harmless remove (removing an absent id is a no-op), unless it matches now', () => {
    expect(decide([compute], change(n('a', 'switch'), UNKNOWN), false)).toBe('remove');
    expect(decide([compute], change(null, UNKNOWN), false)).toBe('remove');
  });

  it('a remembered projection that lacks a field the filter reads cannot rule out that it matched', () => {
    const rack = filter({ rack: 'r1' });
    // Only `type` was remembered: whether it was in rack r1 is unknown, so it may have been.
    expect(decide([rack], change(n('a', 'compute', { rack: 'r2' }), was({ type: 'compute' }, ['type'])), false)).toBe('remove');
    // A projection covering `rack` can rule it out.
    expect(decide([rack], change(n('a', 'compute', { rack: 'r2' }), was({ rack: 'r3' }, ['rack'])), false)).toBeUndefined();
  });

  it('right after a snapshot, only a previous record the feed gave can rule a remove out', () => {
    const prev = n('a', 'pdu');
    expect(decide([compute], change(n('a', 'switch'), was(prev)), false, true)).toBeUndefined();
    expect(decide([compute], change(n('a', 'switch'), was({ type: 'pdu' }, ['type'])), false, true)).toBe('remove');
    expect(decide([compute], change(n('a', 'switch'), was({ type: 'pdu' }, ['type'])), false, false)).toBeUndefined();
  });

  it('overlapping watches: item when any matches now, remove only when none does and one did', () => {
    const watches = [compute, filter({ rack: 'r1' })];
    expect(decide(watches, change(n('a', 'switch', { rack: 'r1' }), was(n('a', 'compute', { rack: 'r1' }))), false)).toBe('item');
    expect(decide(watches, change(n('a', 'switch', { rack: 'r2' }), was(n('a', 'switch', { rack: 'r1' }))), false)).toBe('remove');
    expect(decide(watches, change(n('a', 'switch', { rack: 'r3' }), was(n('a', 'switch', { rack: 'r2' }))), false)).toBeUndefined();
  });

  it('append-only channels: item when it matches, never a remove', () => {
    expect(decide([compute], change(n('a', 'compute'), ABSENT), true)).toBe('item');
    expect(decide([compute], change(n('a', 'switch'), UNKNOWN), true)).toBeUndefined();
    expect(decide([compute], change(null, was(n('a', 'compute'))), true)).toBeUndefined();
  });

  it("a filter's verdicts are computed once per change and reused for every connection holding it", () => {
    const shared = filter({ type: 'compute' });
    const c = change(n('a', 'switch'), was(n('a', 'compute')));
    expect(decide([shared], c, false)).toBe('remove');
    expect([shared.nowSeq, shared.now, shared.beforeSeq, shared.before]).toEqual([c.seq, false, c.seq, true]);
    // Another connection holding the filter reads the cached verdicts (tampered here to prove it).
    shared.before = false;
    expect(decide([shared], c, false)).toBeUndefined();
    // The next change is evaluated afresh.
    expect(decide([shared], change(n('a', 'switch'), was(n('a', 'compute'))), false)).toBe('remove');
  });
});

describe('the per-record memory, alone', () => {
  const nodes = specOf('nodes');
  const record = (memory: RecordMemory, id: string, data: Doc | null, prev?: Doc | null) =>
    memory.record(prev === undefined ? { channel: 'nodes', id, data } : { channel: 'nodes', id, data, prev }, ++seq);

  it('a change that carries its previous record is logged with it; a create as absent', () => {
    const memory = new RecordMemory(nodes);
    expect(record(memory, 'a', n('a', 'compute'), null).prev).toEqual(ABSENT);
    expect(record(memory, 'a', n('a', 'switch'), n('a', 'compute')).prev).toEqual(was(n('a', 'compute')));
  });

  it('remembers nothing while nothing is watched: a change without its previous record is then unknown', () => {
    const memory = new RecordMemory(nodes);
    record(memory, 'a', n('a', 'compute'));
    expect([memory.size, record(memory, 'a', n('a', 'switch')).prev]).toEqual([0, UNKNOWN]);
  });

  it('remembers just the fields watches read, and tells the next change what the record was', () => {
    const memory = new RecordMemory(nodes);
    memory.watch(['type']);
    record(memory, 'a', n('a', 'compute', { rack: 'r1', big: 'x'.repeat(1000) }));
    const logged = record(memory, 'a', n('a', 'switch'));
    expect(logged.prev).toEqual({ kind: 'doc', doc: { type: 'compute' }, fields: new Set(['type']) });
    expect(memory.size).toBe(1);
  });

  it('stays bounded by what is watched: deleted records go, a field no longer read is left out, the last unwatch clears it all', () => {
    const memory = new RecordMemory(nodes);
    memory.watch(['type']);
    memory.watch(['type', 'rack']);
    for (const id of ['a', 'b', 'c']) record(memory, id, n(id, 'compute', { rack: 'r1' }));
    record(memory, 'b', null);
    expect([memory.size, [...memory.fields]]).toEqual([2, ['type', 'rack']]);
    memory.unwatch(['type', 'rack']);
    expect([...memory.fields]).toEqual(['type']);
    record(memory, 'a', n('a', 'compute', { rack: 'r2' }));
    expect(record(memory, 'a', n('a', 'compute')).prev).toEqual({ kind: 'doc', doc: { type: 'compute' }, fields: new Set(['type']) });
    memory.unwatch(['type']);
    expect([memory.size, [...memory.fields]]).toEqual([0, []]);
  });

  it('append-only channels remember nothing', () => {
    const memory = new RecordMemory(specOf('logs'));
    memory.watch(['subject']);
    memory.record({ channel: 'logs', id: 'l1', data: { id: 'l1', subject: 's' } }, ++seq);
    memory.remember([{ id: 'l2', subject: 's' }], seq);
    expect(memory.size).toBe(0);
  });

  it('forget drops everything remembered (changes may have been missed)', () => {
    const memory = new RecordMemory(nodes);
    memory.watch(['type']);
    record(memory, 'a', n('a', 'compute'));
    memory.forget();
    expect(memory.size).toBe(0);
    expect(record(memory, 'a', n('a', 'switch')).prev).toEqual(UNKNOWN);
  });

  it('a snapshot fills in records no change told of, never overrides a newer change, and makes a record it contradicts unknown', () => {
    const memory = new RecordMemory(nodes);
    memory.watch(['type']);
    const start = seq;
    record(memory, 'a', n('a', 'compute'));
    record(memory, 'b', n('b', 'compute'));
    // The snapshot began before both changes: what it shows of a is older and ignored, c is new to the memory.
    memory.remember([n('a', 'switch'), n('c', 'pdu')], start);
    expect(record(memory, 'a', n('a', 'compute', { v: 2 })).prev).toMatchObject({ doc: { type: 'compute' } });
    expect(record(memory, 'c', n('c', 'pdu', { v: 2 })).prev).toMatchObject({ doc: { type: 'pdu' } });
    // A snapshot begun after b's change that shows b otherwise: a write whose change has not arrived yet.
    memory.remember([n('b', 'switch')], seq);
    expect(record(memory, 'b', n('b', 'switch', { v: 2 })).prev).toEqual(UNKNOWN);
    // That change set a certain entry again.
    expect(record(memory, 'b', n('b', 'switch', { v: 3 })).prev).toMatchObject({ doc: { type: 'switch' } });
  });

  it('records without a string or number id in a snapshot are skipped', () => {
    const memory = new RecordMemory(nodes);
    memory.watch(['type']);
    memory.remember([{ type: 'compute' }, { id: { nested: true }, type: 'compute' }, { id: 7, type: 'compute' }], seq);
    expect(memory.size).toBe(1);
  });
});

describe('through the hub', () => {
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

describe("the memory of records' watched fields stays bounded (issue 10: bounded caches)", () => {
  const nodes = specOf('nodes');
  /** A field name of `length` characters that no other call of this file uses. */
  const field = (tag: string, i: number, length = 1_000) => `${tag}${i}.`.padEnd(length, 'f');

  it('does not keep a set of watched fields per watch that came and went: 500 records, each read while another field was watched', async () => {
    const memory = new RecordMemory(nodes);
    // Watches on 1,000 fields (well within DEFAULTS.maxWatchBytes with 1,000-character names).
    for (let w = 0; w < 2; w++) memory.watch(Array.from({ length: 500 }, (_, i) => field(`w${w}.`, i)));
    const records: Doc[] = Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, type: 'compute' }));
    // What `watch {rot_i: null}`, `get {id: n_i}`, `stop {rot_i: null}` do to the memory, for every record: the watched
    // fields grow by one and shrink back, and the read's record is remembered in between.
    const grown = await retainedBy(() => {
      for (let i = 0; i < records.length; i++) {
        const rotating = [field('rot', i)];
        memory.watch(rotating);
        memory.remember([records[i]!], 0);
        memory.unwatch(rotating);
      }
    });
    expect(memory.size).toBe(500);
    // Stated bound: FIELD_GENERATIONS sets of 1,000 fields (64 KB each at most), the records' small projections (200
    // bytes each), and 1 MiB for what a measurement moves by itself. Before the bound: 10.5 MiB.
    const bound = FIELD_GENERATIONS * 64 * 1024 + records.length * 200 + 1024 * 1024;
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });
});

describe('a record whose generation of watched fields was dropped', () => {
  const compute = filter({ type: 'compute' });
  let at = 0;

  /** A memory watching `{type: "compute"}` that has seen a switch `s1` (so it never matched). */
  function watchingCompute(): RecordMemory {
    const memory = new RecordMemory(specOf('nodes'));
    memory.watch(compute.fields);
    memory.remember([{ id: 's1', type: 'switch' }], at);
    return memory;
  }

  /** Starts `count` generations: each watches one more field and remembers another record while it is watched. */
  function churn(memory: RecordMemory, count: number): void {
    for (let i = 0; i < count; i++) {
      memory.watch([`churn${i}`]);
      memory.remember([{ id: `other${i}`, type: 'compute' }], at);
      memory.unwatch([`churn${i}`]);
    }
  }

  const switchChanged = { channel: 'nodes', id: 's1', data: { id: 's1', type: 'switch', name: 'renamed' } };

  it('while its generation is kept, is known: a change that never matched sends nothing', () => {
    const memory = watchingCompute();
    // Its own generation and FIELD_GENERATIONS - 1 newer ones: all kept.
    churn(memory, FIELD_GENERATIONS - 1);
    const logged = memory.record(switchChanged, ++at);
    expect(logged.prev.kind).toBe('doc');
    expect(decide([compute], logged, false)).toBeUndefined();
  });

  it('once dropped, counts as unknown at its next change: one harmless remove', () => {
    const memory = watchingCompute();
    // FIELD_GENERATIONS newer ones: its own is the one too many.
    churn(memory, FIELD_GENERATIONS);
    const logged = memory.record(switchChanged, ++at);
    expect(logged.prev.kind).toBe('unknown');
    expect(decide([compute], logged, false)).toBe('remove');
    // The change itself is remembered in the current generation: the next one is known again.
    expect(decide([compute], memory.record(switchChanged, ++at), false)).toBeUndefined();
  });

  it('once dropped, a snapshot cannot be compared with it and leaves the record uncertain until its next change', () => {
    const memory = watchingCompute();
    churn(memory, FIELD_GENERATIONS);
    memory.remember([{ id: 's1', type: 'switch' }], at);
    const logged = memory.record(switchChanged, ++at);
    expect(logged.prev.kind).toBe('unknown');
    expect(decide([compute], logged, false)).toBe('remove');
  });
});
