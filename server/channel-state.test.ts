/**
 * The watch index of one channel on its own: values indexed as they are (no prefixed copies), one entry per value and
 * filter whoever holds it, and filters named by a digest when their canonical params are long — never confused when
 * two digests collide. The hub's behaviour on top of it is in `hub.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, type Doc, type Params } from '../protocol/index.js';
import { ChannelState, filterKeyOf, subscription, watchOf, type LoggedChange, type Subscription } from './channel-state.js';
import { DEFAULT_CHANNELS } from './channels.js';

const nodes = DEFAULT_CHANNELS.find((s) => s.name === 'nodes')!;

function setup() {
  const state = new ChannelState(nodes);
  const open = () => subscription('nodes', state, { sendFrame: () => {} });
  const watch = (sub: Subscription, params: Params) => state.addWatch(sub, state.filterFor(canonicalJson(params), params));
  let seq = 0;
  /** The subscriptions a created record may concern. */
  const candidates = (data: Doc) => new Set(state.candidates({ seq: ++seq, id: String(data.id), data, prev: { kind: 'absent' } } as LoggedChange));
  return { state, open, watch, candidates };
}

describe('watch index', () => {
  it('tells 1 from "1" and true from "true", as equality does', () => {
    const { open, watch, candidates } = setup();
    const [num, str, bool] = [open(), open(), open()];
    watch(num, { rack: { $in: [1, 2] } });
    watch(str, { rack: '1' });
    watch(bool, { rack: true });
    expect(candidates({ id: 'a', rack: 1 })).toEqual(new Set([num]));
    expect(candidates({ id: 'b', rack: '1' })).toEqual(new Set([str]));
    expect(candidates({ id: 'c', rack: [true, 2] })).toEqual(new Set([num, bool]));
    expect(candidates({ id: 'd', rack: 'true' })).toEqual(new Set());
  });

  it('a value listed twice, and a filter shared by connections, index once; the last holder leaving empties the index', () => {
    const { state, open, watch, candidates } = setup();
    const [a, b, c] = [open(), open(), open()];
    const params = { type: { $in: ['compute', 'compute', 'switch'] } };
    const filter = watch(a, params);
    expect(watch(b, { type: { $in: ['compute', 'compute', 'switch'] } })).toBe(filter);
    watch(c, { type: 'compute' });
    expect(candidates({ id: 'x', type: 'compute' })).toEqual(new Set([a, b, c]));
    state.removeWatch(a, filter);
    expect(candidates({ id: 'x', type: 'switch' })).toEqual(new Set([b]));
    state.removeWatch(b, filter);
    expect(candidates({ id: 'x', type: 'switch' })).toEqual(new Set());
    expect(candidates({ id: 'x', type: 'compute' })).toEqual(new Set([c]));
    state.dropSubscription(c);
    expect(state.subs.size).toBe(0);
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
    const { state, open, watch } = setup();
    const sub = open();
    const filter = watch(sub, long(1));
    expect(filter.key).toBe(key);
    // Found again by its canonical form: a second watcher shares it, a stop finds it.
    expect(state.filterFor(canonicalJson(long(1)), long(1))).toBe(filter);
    expect(watchOf(sub, canonicalJson(long(1)))).toBe(filter);
  });

  it('two filters whose digests collide are never taken for each other: each keeps its own params and holders', () => {
    const { state, open, watch, candidates } = setup();
    const [a, b] = [open(), open()];
    const [p1, p2] = [long(1), long(2)];
    // A collision made by hand: a's filter (params p1) registered under the digest of p2.
    const forged = { ...state.filterFor(canonicalJson(p1), p1), key: filterKeyOf(canonicalJson(p2)) };
    state.addWatch(a, forged);
    const real = state.filterFor(canonicalJson(p2), p2);
    expect(real).not.toBe(forged);
    expect(real.params).toBe(p2);
    state.addWatch(b, real);
    expect(watchOf(a, canonicalJson(p2))).toBeUndefined();
    expect(watchOf(b, canonicalJson(p2))).toBe(real);
    expect(candidates({ id: 'node-1-3' })).toEqual(new Set([a]));
    expect(candidates({ id: 'node-2-3' })).toEqual(new Set([b]));
    // The filter outside the map leaves without taking the one inside along.
    state.removeWatch(b, real);
    expect(state.filterFor(canonicalJson(p2), p2)).not.toBe(real);
    expect(candidates({ id: 'node-1-3' })).toEqual(new Set([a]));
  });
});
