/**
 * The per-record memory and the item/remove decision: the decision alone on hand-made changes (item when a watch
 * matches now; remove when the record was deleted or matched one before and matches none now; nothing otherwise;
 * an unknown previous record costs one harmless remove), the memory alone (only the fields watches read, only while
 * watched, what snapshots add), then both through the hub.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, type Doc, type Params } from '../../protocol/index.js';
import { decide, RecordMemory, type LoggedChange, type Prev } from './record-memory.js';
import { GatedSource, n, setup, specOf, tick } from '../../test/support/hub-doubles.js';
import { makeFilter } from './watch-index.js';

const filter = (params: Params) => makeFilter(canonicalJson(params), params);
let seq = 0;
/** A change of record `a` (a new sequence number each, as the channel numbers them). */
const change = (data: Doc | null, prev: Prev): LoggedChange => ({ seq: ++seq, id: 'a', data, prev });
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
