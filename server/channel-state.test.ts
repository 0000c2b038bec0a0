/**
 * The channel state's memory of records (what each looked like, just the fields watches read) stays bounded by the
 * records and the watches alive, not by the history of watches (issue 10: bounded caches). The routing decisions
 * themselves are tested through the hub (hub.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, type Doc, type Params } from '../protocol/index.js';
import { mib, retainedBy } from '../test/heap.js';
import { ChannelState, FIELD_GENERATIONS, subscription, type Subscription } from './channel-state.js';
import { DEFAULT_CHANNELS } from './channels.js';

const nodes = DEFAULT_CHANNELS.find((s) => s.name === 'nodes')!;

/** A field name of `length` characters that no other call of this file uses. */
const field = (tag: string, i: number, length = 1_000) => `${tag}${i}.`.padEnd(length, 'f');

describe("the memory of records' watched fields", () => {
  it('does not keep a set of watched fields per watch that came and went: 500 records, each read while another field was watched', async () => {
    const state = new ChannelState(nodes);
    const sub = subscription('nodes', state, { sendFrame() {} });
    // A connection holding watches on 1,000 fields (well within DEFAULTS.maxWatchBytes with 1,000-character names).
    for (let w = 0; w < 2; w++) {
      const params: Params = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [field(`w${w}.`, i), null]));
      state.addWatch(sub, canonicalJson(params), params);
    }
    const records: Doc[] = Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, type: 'compute' }));
    // What `watch {rot_i: null}`, `get {id: n_i}`, `stop {rot_i: null}` do to the state, for every record: the watched
    // fields grow by one and shrink back, and the read's record is remembered in between.
    const grown = await retainedBy(() => {
      for (let i = 0; i < records.length; i++) {
        const rotating: Params = { [field('rot', i)]: null };
        const key = canonicalJson(rotating);
        state.addWatch(sub, key, rotating);
        state.remember([records[i]!], state.seq);
        state.removeWatch(sub, key);
      }
    });
    expect(state.cacheSize).toBe(500);
    // Stated bound: FIELD_GENERATIONS sets of 1,000 fields (64 KB each at most), the records' small projections (200
    // bytes each), and 1 MiB for what a measurement moves by itself. Before the bound: 10.5 MiB.
    const bound = FIELD_GENERATIONS * 64 * 1024 + records.length * 200 + 1024 * 1024;
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });
});

describe('a record whose generation of watched fields was dropped', () => {
  /** A state with one subscription watching `{type: "compute"}`, and a switch `s1` it has seen (so it never matched). */
  function watchingCompute() {
    const state = new ChannelState(nodes);
    const sub = subscription('nodes', state, { sendFrame() {} });
    state.addWatch(sub, canonicalJson({ type: 'compute' }), { type: 'compute' });
    state.remember([{ id: 's1', type: 'switch' }], state.seq);
    return { state, sub };
  }

  /** Starts `n` generations: each watches one more field and remembers another record while it is watched. */
  function churn(state: ChannelState, sub: Subscription, n: number): void {
    for (let i = 0; i < n; i++) {
      const params: Params = { [`churn${i}`]: null };
      state.addWatch(sub, canonicalJson(params), params);
      state.remember([{ id: `other${i}`, type: 'compute' }], state.seq);
      state.removeWatch(sub, canonicalJson(params));
    }
  }

  const switchChanged = { channel: 'nodes', id: 's1', data: { id: 's1', type: 'switch', name: 'renamed' } };

  it('while its generation is kept, is known: a change that never matched sends nothing', () => {
    const { state, sub } = watchingCompute();
    // Its own generation and FIELD_GENERATIONS - 1 newer ones: all kept.
    churn(state, sub, FIELD_GENERATIONS - 1);
    const change = state.record(switchChanged);
    expect(change.prev.kind).toBe('doc');
    expect(state.decide(sub, change)).toBeUndefined();
  });

  it('once dropped, counts as unknown at its next change: one harmless remove', () => {
    const { state, sub } = watchingCompute();
    // FIELD_GENERATIONS newer ones: its own is the one too many.
    churn(state, sub, FIELD_GENERATIONS);
    const change = state.record(switchChanged);
    expect(change.prev.kind).toBe('unknown');
    expect(state.decide(sub, change)).toBe('remove');
    // The change itself is remembered in the current generation: the next one is known again.
    expect(state.decide(sub, state.record(switchChanged))).toBeUndefined();
  });

  it('once dropped, a snapshot cannot be compared with it and leaves the record uncertain until its next change', () => {
    const { state, sub } = watchingCompute();
    churn(state, sub, FIELD_GENERATIONS);
    state.remember([{ id: 's1', type: 'switch' }], state.seq);
    const change = state.record(switchChanged);
    expect(change.prev.kind).toBe('unknown');
    expect(state.decide(sub, change)).toBe('remove');
  });
});
