/**
 * Resume through the hub: positions on frames (and none in the 1.x dialect, nor on channels that re-snapshot), the
 * history's bounds, a replay that decides item/remove per connection as live fan-out does (a record that left the
 * watch included) and once per change for overlapping watches resumed together, `resumed`, bad positions answered with a full list and a debug line, progress for quiet watches
 * (never while a read is in flight), positions that claim nothing not sent while older reads hold changes back, and
 * on an external timeline the wait for a position this instance has not reached.
 */
import { describe, expect, it } from 'vitest';
import type { ServerMessage } from '../../protocol/index.js';
import { Hub, type HubOptions } from './hub.js';
import type { Logger } from './logger.js';
import { Timeline } from './positions.js';
import { GatedSource, manualClock, n, settle, TableBackend, TestSocket } from '../../test/support/hub-doubles.js';

/** A logger that keeps its debug lines' reasons. */
function debugLog(): Logger & { readonly reasons: string[] } {
  const reasons: string[] = [];
  return { reasons, debug: (_m, f) => void reasons.push(String(f?.reason)), info() {}, warn() {}, error() {} };
}

function hubWith(options: Partial<HubOptions> = {}, seed = { nodes: [n('n1', 'compute'), n('n9', 'switch')] }) {
  const backend = new TableBackend(seed);
  const clock = manualClock();
  const logger = debugLog();
  const hub = new Hub({ source: backend, feed: backend, timers: clock.timers, logger, resume: { progressIntervalMs: 1000 }, ...options });
  const open = (channel = 'nodes', dialect?: '1.x') => {
    const socket = new TestSocket();
    hub.accept(socket, { channel, ...(dialect ? { dialect } : {}) });
    return socket;
  };
  return { hub, backend, clock, logger, open };
}

const kinds = (frames: ServerMessage[]) => frames.map((f) => `${f.handler}${'id' in f && f.id !== undefined ? ` ${f.id}` : ''}`);
const positionOf = (f: ServerMessage | undefined) => (f as { position?: string } | undefined)?.position;

/** Watches `params` on a new connection and returns it with the position of its list. */
async function watched(open: () => TestSocket, params: object = { type: 'compute' }) {
  const socket = open();
  socket.deliver({ handler: 'watch', params });
  await settle();
  const list = socket.take().find((f) => f.handler === 'list');
  return { socket, position: positionOf(list)! };
}

describe('positions on frames', () => {
  it('announces resume and puts a position on list, item and remove; each later than the one before', async () => {
    const { open, backend } = hubWith();
    const socket = open();
    socket.deliver({ handler: 'init' });
    expect(socket.take()[0]).toMatchObject({ handler: 'session', features: ['ping', 'resume'] });
    socket.deliver({ handler: 'watch', params: { type: 'compute' } });
    await settle();
    backend.upsert('nodes', n('n2', 'compute'));
    backend.upsert('nodes', n('n1', 'switch'));
    const frames = socket.take();
    expect(kinds(frames)).toEqual(['list', 'item n2', 'remove n1']);
    const offsets = frames.map((f) => Number(positionOf(f)!.split('.')[1]));
    expect(offsets).toEqual([0, 1, 2]);
    expect(new Set(frames.map((f) => positionOf(f)!.split('.')[0])).size).toBe(1);
  });

  it('none with resume off, in the 1.x dialect, on channels that re-snapshot (pollers), nor on a get answer', async () => {
    const off = hubWith({ resume: false });
    const s = off.open();
    s.deliver({ handler: 'init' });
    s.deliver({ handler: 'watch', params: {} });
    await settle();
    off.backend.upsert('nodes', n('n2', 'compute'));
    expect(s.take().map(positionOf)).toEqual([undefined, undefined, undefined]);

    const { open, backend } = hubWith({}, { nodes: [n('n1', 'compute')], pollers: [{ id: 'p1' }] } as never);
    const legacy = open('nodes', '1.x');
    legacy.deliver({ handler: 'watch' });
    legacy.deliver({ handler: 'query', params: {} });
    const pollers = open('pollers');
    pollers.deliver({ handler: 'watch', params: {} });
    const get = open();
    get.deliver({ handler: 'get', params: { id: 'n1' } });
    await settle();
    backend.upsert('nodes', n('n2', 'compute'));
    backend.upsert('pollers', { id: 'p2' });
    expect(legacy.take().map((f) => [f.handler, positionOf(f)])).toEqual([
      ['list', undefined],
      ['item', undefined],
    ]);
    expect(pollers.take().map((f) => [f.handler, positionOf(f)])).toEqual([
      ['list', undefined],
      ['item', undefined],
    ]);
    expect(get.take().map((f) => [f.handler, positionOf(f)])).toEqual([['item', undefined]]);
  });
});

describe('resume', () => {
  it('replays only what concerns the watch since its position, decided as live: items, removes for records that left, then resumed', async () => {
    const { open, backend, hub } = hubWith();
    const { position } = await watched(open);
    backend.upsert('nodes', n('n2', 'compute')); // created, matches: item
    backend.upsert('nodes', n('n1', 'switch')); // left the watch: remove
    backend.upsert('nodes', n('n3', 'switch')); // never matched: nothing
    backend.upsert('nodes', n('n4', 'compute'));
    hub.publish({ channel: 'nodes', id: 'n4', data: null, prev: n('n4', 'compute') }); // matched, then deleted: item, remove
    const reads = hub.stats().sourceReads;
    const again = open();
    again.deliver({ handler: 'watch', params: { type: 'compute' }, position });
    const frames = again.take();
    expect(kinds(frames)).toEqual(['item n2', 'remove n1', 'item n4', 'remove n4', 'resumed']);
    expect(frames.at(-1)).toEqual({
      handler: 'resumed',
      resource: 'nodes',
      params: { type: 'compute' },
      position: positionOf(frames.at(-2)),
    });
    expect(hub.stats().sourceReads).toBe(reads);
    // Then live, as any watch.
    backend.upsert('nodes', n('n5', 'compute'));
    expect(kinds(again.take())).toEqual(['item n5']);
  });

  it('a feed without the previous record: a record that changed out of the watch is a remove (unknown counts as matched)', async () => {
    const { open, hub } = hubWith({ feed: undefined });
    const { position } = await watched(open);
    hub.publish({ channel: 'nodes', id: 'n1', data: n('n1', 'switch') });
    hub.publish({ channel: 'nodes', id: 'n7', data: n('n7', 'compute') });
    const again = open();
    again.deliver({ handler: 'watch', params: { type: 'compute' }, position });
    expect(kinds(again.take())).toEqual(['remove n1', 'item n7', 'resumed']);
  });

  it('an empty replay is just resumed; the resume of a watch the connection holds replays too', async () => {
    const { open, backend } = hubWith();
    const { socket, position } = await watched(open);
    socket.deliver({ handler: 'watch', params: { type: 'compute' }, position });
    expect(kinds(socket.take())).toEqual(['resumed']);
    backend.upsert('nodes', n('n2', 'compute'));
    expect(kinds(socket.take())).toEqual(['item n2']);
    socket.deliver({ handler: 'watch', params: { type: 'compute' }, position });
    expect(kinds(socket.take())).toEqual(['item n2', 'resumed']);
  });

  it('a connection that resumes overlapping watches from one position is sent each change once: a watch resumed after another adds only what it changes', async () => {
    const seed = { nodes: [n('n1', 'compute'), n('n5', 'switch', { rack: 'r1' }), n('n6', 'compute', { rack: 'r2' })] };
    const { open, backend } = hubWith({}, seed);
    const first = open();
    first.deliver({ handler: 'watch', params: { type: 'compute' } });
    first.deliver({ handler: 'watch', params: { rack: 'r1' } });
    await settle();
    const position = positionOf(first.take().at(-1))!;
    backend.upsert('nodes', n('n2', 'compute', { rack: 'r1' })); // both watches: one item
    backend.upsert('nodes', n('n3', 'switch', { rack: 'r1' })); // the rack watch only
    backend.upsert('nodes', n('n1', 'switch')); // left the type watch, never in the rack watch: one remove
    backend.upsert('nodes', n('n5', 'switch', { rack: 'r2' })); // left the rack watch only
    backend.upsert('nodes', n('n6', 'compute', { rack: 'r1' })); // in the type watch, now in the rack watch too: one item

    const again = open();
    again.deliver({ handler: 'watch', params: { type: 'compute' }, position });
    again.deliver({ handler: 'watch', params: { rack: 'r1' }, position });
    expect(kinds(again.take())).toEqual(['item n2', 'remove n1', 'item n6', 'resumed', 'item n3', 'remove n5', 'resumed']);

    // A watch that came by a snapshot read is not known to have been sent those frames: a watch resumed after it
    // replays in full.
    const mixed = open();
    mixed.deliver({ handler: 'watch', params: { type: 'compute' } });
    await settle();
    mixed.take();
    mixed.deliver({ handler: 'watch', params: { rack: 'r1' }, position });
    expect(kinds(mixed.take())).toEqual(['item n2', 'item n3', 'remove n1', 'remove n5', 'item n6', 'resumed']);
  });

  it('append-only channels replay the entries they missed', async () => {
    const { open, backend } = hubWith({}, { nodes: [] });
    const { position } = await watched(() => open('logs'), { subject: 'n1' });
    backend.append('logs', { subject: 'n1', message: 'a' });
    backend.append('logs', { subject: 'n2', message: 'b' });
    const again = open('logs');
    again.deliver({ handler: 'watch', params: { subject: 'n1' }, position });
    expect(again.take().map((f) => f.handler)).toEqual(['item', 'resumed']);
  });
});

describe('a position resume cannot use: a full list and a debug line, never an error', () => {
  async function refused(position: unknown, setupHub = hubWith()) {
    const { open, logger } = setupHub;
    const socket = open();
    socket.deliver({ handler: 'watch', params: { type: 'compute' }, position });
    await settle();
    return { frames: kinds(socket.take()), reason: logger.reasons.at(-1) };
  }

  it.each([
    ['a word', 'not-a-position'],
    ['a number', 42],
    ['an object', { offset: 1 }],
    ['null', null],
    ['5,000 characters', 'x'.repeat(5000)],
  ])('malformed: %s', async (_what, position) => {
    expect(await refused(position)).toEqual({ frames: ['list'], reason: 'malformed position' });
  });

  it('from the future, of another channel, of another epoch (another process), older than the history', async () => {
    const h = hubWith({ resume: { historyEntries: 2, progressIntervalMs: 0 } });
    const { position } = await watched(h.open);
    const [epoch] = position.split('.');
    expect(await refused(`${epoch}.99`, h)).toEqual({ frames: ['list'], reason: 'position from the future' });

    const { position: workflows } = await watched(() => h.open('workflows'), {});
    expect(await refused(workflows, h)).toEqual({ frames: ['list'], reason: 'position of another channel (workflows)' });

    const other = hubWith();
    const { position: elsewhere } = await watched(other.open);
    expect(await refused(elsewhere, h)).toEqual({ frames: ['list'], reason: 'position of another epoch' });

    for (const id of ['a', 'b', 'c']) h.backend.upsert('nodes', n(id, 'switch'));
    expect(await refused(position, h)).toEqual({ frames: ['list'], reason: 'position older than the history kept' });
  });

  it('on a channel that re-snapshots, and with resume off', async () => {
    const h = hubWith();
    const { open, logger } = h;
    const pollers = open('pollers');
    pollers.deliver({ handler: 'watch', params: {}, position: 'abc.1' });
    await settle();
    expect([kinds(pollers.take()), logger.reasons.at(-1)]).toEqual([['list'], 'the channel re-snapshots on every watch (resume off)']);
    expect(await refused('abc.1', hubWith({ resume: false }))).toEqual({ frames: ['list'], reason: 'resume is off' });
  });
});

describe('progress', () => {
  it('a quiet watch of a client that takes it gets the head every interval, once per move; others get none', async () => {
    const { open, backend, clock } = hubWith();
    const aware = open();
    aware.deliver({ handler: 'init', features: ['resume'] });
    aware.deliver({ handler: 'watch', params: { type: 'switch' } });
    const unaware = open();
    unaware.deliver({ handler: 'watch', params: { type: 'switch' } });
    await settle();
    aware.take();
    unaware.take();
    clock.advance(1000);
    expect(aware.take()).toEqual([]); // nothing moved since its list
    backend.upsert('nodes', n('n2', 'compute'));
    backend.upsert('nodes', n('n3', 'compute'));
    clock.advance(1000);
    const [progress] = aware.take();
    expect(progress).toMatchObject({ handler: 'progress', resource: 'nodes' });
    expect(positionOf(progress)!.endsWith('.2')).toBe(true);
    clock.advance(1000);
    expect([aware.take(), unaware.take()]).toEqual([[], []]);
  });

  it('never while the connection has a read in flight on the channel', async () => {
    const source = new GatedSource();
    source.rows.set('n1', n('n1', 'compute'));
    const clock = manualClock();
    const hub = new Hub({ source, timers: clock.timers, resume: { progressIntervalMs: 1000 } });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nodes' });
    socket.deliver({ handler: 'init', features: ['resume'] });
    socket.deliver({ handler: 'watch', params: { type: 'switch' } });
    await settle();
    source.releaseAll();
    await settle();
    socket.take();
    socket.deliver({ handler: 'query', params: {} });
    await settle();
    hub.publish({ channel: 'nodes', id: 'x', data: n('x', 'compute'), prev: null });
    clock.advance(1000);
    expect(socket.take()).toEqual([]);
    source.releaseAll();
    await settle();
    clock.advance(1000);
    expect(socket.take().map((f) => f.handler)).toEqual(['list', 'progress']);
  });
});

describe('positions while older reads hold changes back', () => {
  it('a list and the changes replayed after it claim no position past the oldest read of the connection in flight', async () => {
    const source = new GatedSource();
    const hub = new Hub({ source, resume: { progressIntervalMs: 0 } });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nodes' });
    socket.deliver({ handler: 'query', params: { type: 'a' } }); // read 1 starts at 0
    await settle();
    hub.publish({ channel: 'nodes', id: 'x', data: n('x', 'b') }); // 1: held for read 1
    socket.deliver({ handler: 'watch', params: { type: 'b' } }); // read 2 starts at 1
    await settle();
    hub.publish({ channel: 'nodes', id: 'y', data: n('y', 'b') }); // 2: held for both
    source.pending[1]!.resolve(); // read 2 answers first
    await settle();
    const early = socket.take();
    expect(early.map((f) => [f.handler, positionOf(f)?.split('.')[1]])).toEqual([
      ['list', '0'],
      ['item', undefined],
    ]);
    source.pending[0]!.resolve();
    await settle();
    expect(socket.take().map((f) => [f.handler, 'id' in f ? f.id : undefined, positionOf(f)?.split('.')[1]])).toEqual([
      ['list', undefined, '0'],
      ['item', 'x', '1'],
      ['item', 'y', '2'],
    ]);
  });
});

describe('an external timeline (a stream read at this instance’s own pace)', () => {
  function external(waitMs = 500) {
    const timeline = new Timeline({ external: true, maxMarkers: 10 });
    const backend = new TableBackend({ nodes: [n('n1', 'compute')] });
    const clock = manualClock();
    const logger = debugLog();
    const hub = new Hub({ source: backend, timers: clock.timers, logger, resume: { timeline, waitMs, progressIntervalMs: 0 } });
    const open = () => {
      const socket = new TestSocket();
      hub.accept(socket, { channel: 'nodes' });
      return socket;
    };
    const publish = (offset: number, id: string, type: string) => {
      hub.publish({ channel: 'nodes', id, data: n(id, type), offset });
      timeline.advance(offset);
    };
    timeline.mark(0, 'e1');
    timeline.advance(0);
    return { hub, timeline, clock, logger, open, publish };
  }

  it('positions are the offsets the feed gave; a change outside the stream cuts the history', async () => {
    const { open, publish, hub, logger } = external();
    const { position } = await watched(open);
    publish(5, 'n2', 'compute');
    publish(9, 'n3', 'compute');
    const again = open();
    again.deliver({ handler: 'watch', params: { type: 'compute' }, position });
    expect(again.take().map((f) => [f.handler, positionOf(f)?.split('.')[1]])).toEqual([
      ['item', '5'],
      ['item', '9'],
      ['resumed', '9'],
    ]);
    hub.publish({ channel: 'nodes', id: 'n4', data: n('n4', 'compute') }); // no offset: the application's own write
    const late = open();
    late.deliver({ handler: 'watch', params: { type: 'compute' }, position });
    await settle();
    expect([kinds(late.take()), logger.reasons.at(-1)]).toEqual([['list'], 'position older than the history kept']);
  });

  it('a position not reached yet waits until the head reaches it, holding nothing else back', async () => {
    const { open, publish, hub } = external();
    const { position } = await watched(open);
    publish(4, 'n2', 'compute');
    const [epoch] = position.split('.');
    const socket = open();
    socket.deliver({ handler: 'watch', params: { type: 'compute' }, position: `${epoch}.7` });
    expect([socket.take(), hub.resume!.waiting]).toEqual([[], 1]);
    publish(7, 'n3', 'compute');
    expect(socket.take().map((f) => [f.handler, positionOf(f)?.split('.')[1]])).toEqual([['resumed', '7']]);
    expect(hub.resume!.waiting).toBe(0);
  });

  it('not reached within waitMs: a full list; beyond the stream’s tail: a full list at once; a stop ends the wait', async () => {
    const { open, clock, logger, timeline, hub } = external();
    const { position } = await watched(open);
    const [epoch] = position.split('.');
    const slow = open();
    slow.deliver({ handler: 'watch', params: { type: 'compute' }, position: `${epoch}.50` });
    clock.advance(500);
    await settle();
    expect([kinds(slow.take()), logger.reasons.at(-1)]).toEqual([
      ['list'],
      'position not reached by this instance in time (or beyond the stream)',
    ]);

    timeline.tail = async () => 10;
    const future = open();
    future.deliver({ handler: 'watch', params: { type: 'compute' }, position: `${epoch}.50` });
    await settle();
    expect(kinds(future.take())).toEqual(['list']);

    timeline.tail = () => new Promise(() => undefined);
    const stopped = open();
    stopped.deliver({ handler: 'watch', params: { type: 'compute' }, position: `${epoch}.50` });
    stopped.deliver({ handler: 'stop', params: { type: 'compute' } });
    clock.advance(500);
    await settle();
    expect([stopped.take(), hub.resume!.waiting]).toEqual([[], 0]);
  });

  it('a reset (another stream) forgets every history: old positions get a full list', async () => {
    const { open, publish, timeline, logger } = external();
    const { position } = await watched(open);
    publish(3, 'n2', 'compute');
    timeline.reset();
    timeline.mark(0, 'e2');
    timeline.advance(5);
    const socket = open();
    socket.deliver({ handler: 'watch', params: { type: 'compute' }, position });
    await settle();
    expect([kinds(socket.take()), logger.reasons.at(-1)]).toEqual([['list'], 'position of another epoch']);
  });
});
