/**
 * The channel state's memory of records (what each looked like, just the fields watches read) stays bounded by the
 * records and the watches alive, not by the history of watches (issue 10: bounded caches). The routing decisions
 * themselves are tested through the hub (hub.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, type Doc, type Params } from '../protocol/index.js';
import { mib, retainedBy } from '../test/heap.js';
import { ChannelState, subscription } from './channel-state.js';
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
    // Stated bound: a handful of sets of 1,000 fields (~40 KB each) and the records' small projections.
    const bound = 4 * 1024 * 1024;
    expect(grown, `heap after GC grew ${mib(grown)}`).toBeLessThanOrEqual(bound);
  });
});
