/**
 * The 1.x dialect inside the hub, with socket doubles: which paths select it, how change frames are worded
 * (created when the record did not exist, updated otherwise, remove with the record as it was), that no `error`
 * frame is ever sent, that a 1.x watch gets no list and follows everything, and that 1.x watches are left out of
 * re-snapshots. The real server, broker and a 1.x client: test/rackhd-1x.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULTS, type ProtocolError } from '../../protocol/index.js';
import { isLegacyPath, renderLegacyMq } from './dialect-1x.js';
import { Hub } from './hub.js';
import type { Logger } from './logger.js';
import { TableBackend, TestSocket, tick } from './test-helpers/hub-doubles.js';

function legacyHub() {
  const lines: Array<[string, Record<string, unknown> | undefined]> = [];
  const logger: Logger = {
    debug() {},
    info: (m, f) => void lines.push([m, f]),
    warn: (m, f) => void lines.push([m, f]),
    error: (m, f) => void lines.push([m, f]),
  };
  const backend = new TableBackend({ nodes: [{ id: 'n1', type: 'compute' }] });
  const hub = new Hub({ source: backend, feed: backend, logger });
  const open = (channel: string) => {
    const socket = new TestSocket();
    const conn = hub.accept(socket, { channel, dialect: '1.x' });
    return { socket, conn };
  };
  return { hub, backend, open, lines };
}

describe('isLegacyPath', () => {
  it.each([
    ['/rackhd/nodes', true],
    ['/rackhd/nodes?x=1', true],
    ['/rackhd/', true],
    ['/rackhd', false],
    ['/rackhdx/nodes', false],
    ['/nodes', false],
    ['/api/rackhd/nodes', false],
  ])('%s: %s', (url, expected) => {
    expect(isLegacyPath(url, DEFAULTS.legacyPath)).toBe(expected);
  });

  it('an empty prefix selects nothing', () => {
    expect(isLegacyPath('/nodes', '')).toBe(false);
    expect(isLegacyPath('/nodes', '/')).toBe(false);
  });
});

describe('the 1.x dialect in the hub', () => {
  it('watch sends no list and follows everything: created, updated, remove with the record', async () => {
    const { backend, open, hub } = legacyHub();
    const { socket } = open('nodes');
    socket.deliver({ handler: 'watch', params: { type: 'switch' } });
    await tick();
    expect(socket.take()).toEqual([]);
    backend.upsert('nodes', { id: 'n2', type: 'compute' });
    backend.upsert('nodes', { id: 'n1', type: 'switch' });
    // A deletion whose feed knows the record (the memory backend's own), then one that does not (a broker's).
    hub.publish({ channel: 'nodes', id: 'n1', data: null, prev: { id: 'n1', type: 'switch' } });
    hub.publish({ channel: 'nodes', id: 'n2', data: null });
    expect(socket.take()).toEqual([
      { handler: 'item', resource: 'nodes', id: ['created', 'n2'], data: { id: 'n2', type: 'compute' } },
      { handler: 'item', resource: 'nodes', id: ['updated', 'n1'], data: { id: 'n1', type: 'switch' } },
      { handler: 'remove', resource: 'nodes', id: 'n1', data: { id: 'n1', type: 'switch' } },
      { handler: 'remove', resource: 'nodes', id: 'n2', data: { id: 'n2' } },
    ]);
  });

  it('stop with null resource and params ends the watch; a second watch is the same watch', () => {
    const { backend, open, hub } = legacyHub();
    const { socket, conn } = open('nodes');
    socket.deliver({ handler: 'watch' });
    socket.deliver({ handler: 'watch', params: { any: 'thing' } });
    expect(conn.watchCount).toBe(1);
    socket.deliverRaw('{"handler":"stop","resource":null,"params":null}');
    expect(conn.watchCount).toBe(0);
    backend.upsert('nodes', { id: 'n3' });
    expect(socket.take()).toEqual([]);
    expect(hub.activeChannels()).toEqual([]);
  });

  it('never sends an error frame: bad input and refusals are logged; the connection stays', async () => {
    const { open, lines } = legacyHub();
    const { socket, conn } = open('nodes');
    const parseErrors: string[] = [];
    conn.on('error', (e) => parseErrors.push((e as ProtocolError).code));
    socket.deliverRaw('garbage');
    socket.deliver({ handler: 'nope' });
    socket.deliver({ handler: 'query', params: { $where: 'x' } });
    socket.deliver({ handler: 'all', resource: 'nosuch' });
    socket.deliver({ handler: 'get', resource: 'mq', params: {} });
    socket.deliver({ handler: 'watch', resource: 'mq', params: { exchange: 'on.waterline', routingKey: '#' } });
    socket.deliverRaw('x', true);
    await tick();
    expect(socket.take()).toEqual([]);
    expect(conn.closed).toBe(false);
    expect(lines.map(([, f]) => f?.code)).toEqual([
      'bad-json',
      'unknown-handler',
      'bad-params',
      'unknown-channel',
      'not-supported',
      'forbidden',
      'bad-message',
    ]);
    // Server-side listeners still hear of the frames that did not parse, as on the seed's path.
    expect(parseErrors).toEqual(['bad-json', 'unknown-handler', 'bad-params', 'bad-message']);
  });

  it('params nested 100,000 deep are refused without a frame or a crash', async () => {
    const { open, lines } = legacyHub();
    const { socket, conn } = open('nodes');
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    socket.deliverRaw(`{"handler":"query","params":${deep}}`);
    await tick();
    expect(socket.take()).toEqual([]);
    expect(conn.closed).toBe(false);
    expect(lines).toHaveLength(1);
  });

  it('get answers item, or item with id null when nothing matches', async () => {
    const { open } = legacyHub();
    const { socket } = open('nodes');
    socket.deliver({ handler: 'get', params: { id: 'n1' } });
    socket.deliver({ handler: 'get', params: { id: 'none' } });
    await tick();
    expect(socket.take()).toEqual([
      { handler: 'item', resource: 'nodes', id: 'n1', data: { id: 'n1', type: 'compute' } },
      { handler: 'item', resource: 'nodes', id: null },
    ]);
  });

  it('mq items carry the routing key as id and the payload as data; stop without params ends every mq watch', () => {
    const { hub, open } = legacyHub();
    const { socket, conn } = open('mq');
    socket.deliver({ handler: 'watch', params: { exchange: 'on.events', routingKey: 'graph.*.*' } });
    socket.deliver({ handler: 'watch', params: { exchange: 'on.logging', routingKey: '#' } });
    expect(socket.take()).toEqual([]);
    hub.mq.publish({ exchange: 'on.events', routingKey: 'graph.finished.g1', payload: { graphId: 'g1', status: 'succeeded' } });
    expect(socket.take()).toEqual([
      { handler: 'item', resource: 'mq', id: 'graph.finished.g1', data: { graphId: 'g1', status: 'succeeded' } },
    ]);
    socket.deliver({ handler: 'stop', resource: null, params: null });
    expect(conn.watchCount).toBe(0);
    expect(hub.mq.demand()).toEqual([]);
    expect(renderLegacyMq({ id: 'x', exchange: 'on.logging', routingKey: 'info', payload: 'text' }, 'mq')).toBe(
      '{"handler":"item","resource":"mq","id":"info","data":"text"}',
    );
  });

  it('a re-snapshot leaves 1.x watches alone (that dialect never gets a list)', async () => {
    const { hub, open } = legacyHub();
    const { socket } = open('nodes');
    socket.deliver({ handler: 'watch' });
    hub.resnapshot('nodes');
    await tick();
    expect(socket.take()).toEqual([]);
  });
});
