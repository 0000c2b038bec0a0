/**
 * One channel's routing state: the watch index and the per-record memory kept in step as watches come and go, the
 * activity reported to feeds, and the numbering of changes.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, type Params } from '../../protocol/index.js';
import { ChannelState, subscription } from './channel-state.js';
import { n, specOf } from '../../test/support/hub-doubles.js';

const sink = { sendFrame: () => undefined };

function channel() {
  const activity: boolean[] = [];
  const state = new ChannelState(specOf('nodes'), (active) => activity.push(active));
  const watch = (sub: ReturnType<typeof subscription>, params: Params) => state.addWatch(sub, canonicalJson(params), params);
  return { state, activity, watch, sub: () => subscription('nodes', state, sink) };
}

describe('channel state', () => {
  it('a new subscription holds no watch and no read, and is not a watcher until it watches', () => {
    const { state, sub } = channel();
    const s = sub();
    expect([s.watches, s.inflight, state.subs.size]).toEqual([[], 0, 0]);
  });

  it('reports activity at the first watch of any subscription and at the end of the last one, once each', () => {
    const { state, activity, watch, sub } = channel();
    const [a, b] = [sub(), sub()];
    watch(a, { type: 'compute' });
    watch(a, { type: 'switch' });
    watch(b, {});
    expect(activity).toEqual([true]);
    state.removeWatch(a, canonicalJson({ type: 'compute' }));
    state.dropSubscription(b);
    expect(activity).toEqual([true]);
    expect(state.removeWatch(a, canonicalJson({ type: 'nope' }))).toBeUndefined();
    state.removeWatch(a, canonicalJson({ type: 'switch' }));
    expect([activity, state.subs.size]).toEqual([[true, false], 0]);
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
