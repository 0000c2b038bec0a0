/**
 * One channel's routing state: the watch index and the per-record memory kept in step as watches come and go, the
 * activity reported to feeds, and the numbering of changes.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, type Params } from '../../protocol/index.js';
import { ChannelState, subscription, type Subscription } from './channel-state.js';
import { n, specOf } from '../../test/support/hub-doubles.js';
import { watchOf } from './watch-index.js';

/** A connection that sends nowhere, with the counters the channel keeps for it. */
const sink = () => ({ sendFrame: () => undefined, watchCount: 0, watchBytes: 0 });

function channel() {
  const activity: boolean[] = [];
  const state = new ChannelState(specOf('nodes'), (active) => activity.push(active));
  const watch = (sub: Subscription, params: Params) => state.addWatch(sub, state.filterFor(canonicalJson(params), params));
  const unwatch = (sub: Subscription, params: Params) => state.removeWatch(sub, watchOf(sub, canonicalJson(params))!);
  return { state, activity, watch, unwatch, sub: () => subscription('nodes', state, sink()) };
}

describe('channel state', () => {
  it('a new subscription holds no watch and no read, and is not a watcher until it watches', () => {
    const { state, sub } = channel();
    const s = sub();
    expect([s.watches, s.inflight, state.subs.size]).toEqual([[], 0, 0]);
  });

  it('reports activity at the first watch of any subscription and at the end of the last one, once each', () => {
    const { state, activity, watch, unwatch, sub } = channel();
    const [a, b] = [sub(), sub()];
    watch(a, { type: 'compute' });
    watch(a, { type: 'switch' });
    watch(b, {});
    expect(activity).toEqual([true]);
    unwatch(a, { type: 'compute' });
    state.dropSubscription(b);
    expect(activity).toEqual([true]);
    unwatch(a, { type: 'switch' });
    expect([activity, state.subs.size]).toEqual([[true, false], 0]);
  });

  it('charges each watch to its connection (count and bytes, a shared filter in full to each) and gives it back when it ends', () => {
    const { state, watch, unwatch, sub } = channel();
    const [a, b] = [sub(), sub()];
    const compute = watch(a, { type: 'compute' });
    const all = watch(a, {});
    expect(watch(b, { type: 'compute' })).toBe(compute);
    expect([a.conn.watchCount, a.conn.watchBytes]).toEqual([2, compute.bytes + all.bytes]);
    expect([b.conn.watchCount, b.conn.watchBytes]).toEqual([1, compute.bytes]);
    unwatch(a, { type: 'compute' });
    expect([a.conn.watchCount, a.conn.watchBytes]).toEqual([1, all.bytes]);
    state.dropSubscription(a);
    state.dropSubscription(b);
    expect([a.conn, b.conn].map((c) => [c.watchCount, c.watchBytes])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('remembers records while watched, just the fields watched, and forgets them with the last watch', () => {
    const { state, watch, sub } = channel();
    const a = sub();
    state.record({ channel: 'nodes', id: 'x', data: n('x', 'compute') });
    expect(state.memory.size).toBe(0);
    watch(a, { type: 'compute' });
    watch(a, { rack: 'r1' });
    expect([...state.memory.fields]).toEqual(['type', 'rack']);
    state.record({ channel: 'nodes', id: 'x', data: n('x', 'compute', { rack: 'r1', v: 1 }) });
    expect(state.record({ channel: 'nodes', id: 'x', data: n('x', 'switch') }).prev).toEqual({
      kind: 'doc',
      doc: { type: 'compute', rack: 'r1' },
      fields: new Set(['type', 'rack']),
    });
    state.forget();
    expect(state.memory.size).toBe(0);
    state.record({ channel: 'nodes', id: 'x', data: n('x', 'switch') });
    state.dropSubscription(a);
    expect([state.memory.size, [...state.memory.fields], a.watches]).toEqual([0, [], []]);
  });

  it('numbers changes in arrival order', () => {
    const { state } = channel();
    const seqs = ['a', 'b', 'a'].map((id) => state.record({ channel: 'nodes', id, data: null }).seq);
    expect([seqs, state.seq]).toEqual([[1, 2, 3], 3]);
  });
});
