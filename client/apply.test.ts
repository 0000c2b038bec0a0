/**
 * What each server message does to a channel's store, alone: which messages reach the store (the channel, its alias,
 * no resource) and which do not (another channel, session, pong), and which errors drop a watch.
 */
import { describe, expect, it } from 'vitest';
import type { Doc, ErrorMessage, ServerMessage } from '../protocol/messages.js';
import { applyToStore, isForChannel } from './apply.js';
import { Store } from './store.js';

const ids = (store: Store) => store.getSnapshot().map((d) => d.id);
const node = (id: string, type = 'compute'): Doc => ({ id, type });
const watched = (store: Store) => store.activeWatches();

/** A store of the `nodes` channel holding a and b through the watch {type: 'compute'}. */
function nodesStore(): Store {
  const store = new Store();
  store.addWatch({ type: 'compute' });
  applyToStore(store, 'nodes', { handler: 'list', resource: 'nodes', params: { type: 'compute' }, items: [node('a'), node('b')] });
  return store;
}

function refusal(code: ErrorMessage['params']['code'], request: ErrorMessage['params']['request']): ErrorMessage {
  return { handler: 'error', params: { code, message: 'refused', request } };
}

describe('isForChannel', () => {
  it('takes the channel itself, its alias either way round, and a message without resource', () => {
    expect(isForChannel('nodes', 'nodes')).toBe(true);
    expect(isForChannel('nodes', undefined)).toBe(true);
    expect(isForChannel('workflows', 'graphObjs')).toBe(true);
    expect(isForChannel('graphObjs', 'workflows')).toBe(true);
  });

  it('refuses another channel, including names that are properties of Object.prototype', () => {
    expect(isForChannel('nodes', 'workflows')).toBe(false);
    expect(isForChannel('nodes', 'constructor')).toBe(false);
    expect(isForChannel('constructor', 'toString')).toBe(false);
  });
});

describe('applyToStore: list, item, remove', () => {
  it('update the store when addressed to its channel', () => {
    const store = nodesStore();
    expect(ids(store)).toEqual(['a', 'b']);
    applyToStore(store, 'nodes', { handler: 'item', resource: 'nodes', id: 'c', data: node('c') });
    applyToStore(store, 'nodes', { handler: 'remove', resource: 'nodes', id: 'a' });
    expect(ids(store)).toEqual(['b', 'c']);
    applyToStore(store, 'nodes', { handler: 'remove', resource: 'nodes', params: { type: 'compute' } });
    expect(ids(store)).toEqual([]);
  });

  it('update the store when addressed to the alias of its channel', () => {
    const store = new Store({ idField: 'instanceId' });
    applyToStore(store, 'workflows', { handler: 'item', resource: 'graphObjs', id: 'w1', data: { instanceId: 'w1' } });
    expect(store.get('w1')).toEqual({ instanceId: 'w1' });
  });

  it('leave the store alone when addressed to another channel', () => {
    const store = nodesStore();
    const before = store.getSnapshot();
    const other: ServerMessage[] = [
      { handler: 'list', resource: 'skus', params: { type: 'compute' }, items: [] },
      { handler: 'item', resource: 'skus', id: 'z', data: node('z') },
      { handler: 'remove', resource: 'skus', id: 'a' },
    ];
    for (const message of other) applyToStore(store, 'nodes', message);
    expect(store.getSnapshot()).toBe(before);
  });
});

describe('applyToStore: session and pong', () => {
  it('leave the store and its watches alone', () => {
    const store = nodesStore();
    const before = store.getSnapshot();
    applyToStore(store, 'nodes', { handler: 'session', id: 's1', features: ['ping'] });
    applyToStore(store, 'nodes', { handler: 'pong' });
    expect(store.getSnapshot()).toBe(before);
    expect(watched(store)).toEqual([{ type: 'compute' }]);
  });
});

describe('applyToStore: error', () => {
  it('a refused watch of this channel is dropped, and the records only it held leave', () => {
    const store = nodesStore();
    applyToStore(store, 'nodes', refusal('bad-params', { handler: 'watch', params: { type: 'compute' } }));
    expect(watched(store)).toEqual([]);
    expect(ids(store)).toEqual([]);
  });

  it('a refused watch addressed to the alias of this channel is dropped too', () => {
    const store = new Store({ idField: 'instanceId' });
    store.addWatch({ status: 'running' });
    applyToStore(store, 'workflows', refusal('forbidden', { handler: 'watch', resource: 'graphObjs', params: { status: 'running' } }));
    expect(watched(store)).toEqual([]);
  });

  it('a source outage or an internal error keeps the watch: the server re-snapshots it later', () => {
    const store = nodesStore();
    for (const code of ['source-unavailable', 'internal'] as const) {
      applyToStore(store, 'nodes', refusal(code, { handler: 'watch', params: { type: 'compute' } }));
    }
    expect(watched(store)).toEqual([{ type: 'compute' }]);
    expect(ids(store)).toEqual(['a', 'b']);
  });

  it('keeps the watches when the refused request is not a watch of this channel, or its params are not an object', () => {
    const store = nodesStore();
    const others = [
      refusal('bad-params', { handler: 'query', params: { type: 'compute' } }),
      refusal('bad-params', { handler: 'watch', resource: 'skus', params: { type: 'compute' } }),
      refusal('bad-params', { handler: 'watch', params: ['type'] }),
      refusal('bad-json', undefined),
    ];
    for (const message of others) applyToStore(store, 'nodes', message);
    expect(watched(store)).toEqual([{ type: 'compute' }]);
  });
});

describe('applyToStore: what a message says about a watch (answers, for live queries)', () => {
  it("tells the list of a watch's params, and an error answering a watch, before the store changes", () => {
    const store = nodesStore();
    const told: unknown[] = [];
    const answers = { answered: (params: unknown, error?: unknown) => told.push([params, error, ids(store)]), moved: () => undefined };
    applyToStore(store, 'nodes', { handler: 'list', resource: 'nodes', params: { type: 'compute' }, items: [node('a')] }, answers);
    const refused = refusal('bad-params', { handler: 'watch', params: { type: 'compute' } });
    applyToStore(store, 'nodes', refused, answers);
    expect(told).toEqual([
      [{ type: 'compute' }, undefined, ['a', 'b']],
      [{ type: 'compute' }, refused.params, ['a']],
    ]);
  });

  it('tells nothing of lists without params, of another channel, or of errors answering something else', () => {
    const store = nodesStore();
    const told: unknown[] = [];
    const answers = { answered: (params: unknown) => told.push(params), moved: () => undefined };
    const messages: ServerMessage[] = [
      { handler: 'list', resource: 'nodes', items: [] },
      { handler: 'list', resource: 'skus', params: {}, items: [] },
      refusal('bad-params', { handler: 'query', params: { type: 'compute' } }),
      refusal('bad-json', undefined),
    ];
    for (const message of messages) applyToStore(store, 'nodes', message, answers);
    expect(told).toEqual([]);
  });
});

describe('applyToStore: subscribers', () => {
  it('lets what a subscriber throws reach the caller (Connection reports it), after the store changed', () => {
    const store = nodesStore();
    store.subscribe(() => {
      throw new Error('subscriber failed');
    });
    expect(() => applyToStore(store, 'nodes', { handler: 'item', resource: 'nodes', id: 'c', data: node('c') })).toThrow(
      'subscriber failed',
    );
    expect(ids(store)).toEqual(['a', 'b', 'c']);
  });
});

describe('applyToStore: positions and resumed (PROTOCOL.md "Positions and resume")', () => {
  it('resumed answers its watch (resumed: true) and touches no record; every positioned frame of the channel moves the connection', () => {
    const store = nodesStore();
    const told: unknown[] = [];
    const answers = {
      answered: (params: unknown, _error?: unknown, resumed?: boolean) => told.push(['answered', params, resumed]),
      moved: (position: string) => told.push(['moved', position]),
    };
    const before = store.getSnapshot();
    applyToStore(store, 'nodes', { handler: 'resumed', resource: 'nodes', params: { type: 'compute' }, position: 'e.4' }, answers);
    expect(store.getSnapshot()).toBe(before);
    applyToStore(store, 'nodes', { handler: 'list', resource: 'nodes', params: {}, items: [], position: 'e.5' }, answers);
    applyToStore(store, 'nodes', { handler: 'item', resource: 'nodes', id: 'c', data: node('c'), position: 'e.6' }, answers);
    applyToStore(store, 'nodes', { handler: 'progress', resource: 'nodes', position: 'e.7' }, answers);
    applyToStore(store, 'nodes', { handler: 'item', resource: 'skus', id: 'k', data: { id: 'k' }, position: 'x.1' }, answers);
    applyToStore(store, 'nodes', { handler: 'item', resource: 'nodes', id: 'd', data: node('d') }, answers);
    expect(told).toEqual([
      ['answered', { type: 'compute' }, true],
      ['moved', 'e.4'],
      ['answered', {}, undefined],
      ['moved', 'e.5'],
      ['moved', 'e.6'],
      ['moved', 'e.7'],
    ]);
  });
});
