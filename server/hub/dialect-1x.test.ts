/**
 * The 1.x dialect inside the hub, with socket doubles: which paths select it, how change frames are worded
 * (created when the record did not exist, updated otherwise, remove with the record as it was), that no `error`
 * frame is ever sent, that a 1.x watch gets no list and follows everything, and that 1.x watches are left out of
 * re-snapshots. The real server, broker and a 1.x client: test/rackhd-1x.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { CloseCode, DEFAULTS, type ProtocolError } from '../../protocol/index.js';
import { isLegacyPath, renderLegacyMq } from './dialect-1x.js';
import { Hub, type HubOptions } from './hub.js';
import type { Logger } from './logger.js';
import { GatedSource, TableBackend, TestSocket, tick } from '../../test/support/hub-doubles.js';

function legacyHub(options: Partial<HubOptions> = {}) {
  const lines: Array<[string, Record<string, unknown> | undefined]> = [];
  const logger: Logger = {
    debug() {},
    info: (m, f) => void lines.push([m, f]),
    warn: (m, f) => void lines.push([m, f]),
    error: (m, f) => void lines.push([m, f]),
  };
  const backend = new TableBackend({ nodes: [{ id: 'n1', type: 'compute' }] });
  const hub = new Hub({ source: backend, feed: backend, logger, ...options });
  const open = (channel: string, socket = new TestSocket()) => {
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

describe("the 1.x dialect within the hub's bounds", () => {
  const codes = (lines: Array<[string, Record<string, unknown> | undefined]>) => lines.map(([, f]) => f?.code);

  it('reads over maxReadsInFlight are refused (logged, no frame); joining a read in flight is free', async () => {
    const source = new GatedSource();
    source.rows.set('n1', { id: 'n1', type: 'compute' });
    const { open, lines } = legacyHub({ source, maxReadsInFlight: 2 });
    const { socket, conn } = open('nodes');
    socket.deliver({ handler: 'query', params: { type: 'compute' } });
    socket.deliver({ handler: 'query', params: { type: 'switch' } });
    socket.deliver({ handler: 'query', params: { type: 'pdu' } });
    socket.deliver({ handler: 'query', params: { type: 'compute' } });
    expect(conn.readsInFlight).toBe(2);
    expect(codes(lines)).toEqual(['too-many-reads']);
    await tick();
    expect(source.reads).toBe(2);
    source.releaseAll();
    await tick();
    expect(conn.readsInFlight).toBe(0);
    expect(socket.take().map((f) => f.handler)).toEqual(['list', 'list', 'list']);
    expect(conn.closed).toBe(false);
  });

  it('a watch over maxWatchBytes is refused (logged, no frame) and charges nothing', () => {
    const { open, lines } = legacyHub({ maxWatchBytes: 1 });
    const { socket, conn } = open('nodes');
    socket.deliver({ handler: 'watch' });
    expect(codes(lines)).toEqual(['too-many-watches']);
    expect([conn.watchCount, conn.watchBytes]).toEqual([0, 0]);
    expect(socket.take()).toEqual([]);
  });

  it('a watch is charged to watchBytes and given back by stop', () => {
    const { open } = legacyHub();
    const { socket, conn } = open('nodes');
    socket.deliver({ handler: 'watch' });
    expect(conn.watchBytes).toBeGreaterThan(0);
    socket.deliver({ handler: 'stop', resource: null, params: null });
    expect([conn.watchCount, conn.watchBytes]).toEqual([0, 0]);
  });

  it("frames are parsed within the hub's input budget and maxInValues: too-large, logged, no frame", async () => {
    const { open, lines } = legacyHub({ inputBudget: { maxStringLength: 16 }, maxInValues: 2 });
    const { socket, conn } = open('nodes');
    socket.deliver({ handler: 'query', params: { name: 'x'.repeat(17) } });
    socket.deliver({ handler: 'query', params: { name: { $in: ['a', 'b', 'c'] } } });
    socket.deliver({ handler: 'query', params: { name: 'x'.repeat(16) } });
    await tick();
    expect(codes(lines)).toEqual(['too-large', 'too-large']);
    expect(socket.take()).toMatchObject([{ handler: 'list', items: [] }]);
    expect(conn.closed).toBe(false);
  });

  it('what fails outside a handler (a logger that throws on a refusal) closes that one connection with 1011; nothing escapes', async () => {
    const errors: string[] = [];
    const logger: Logger = {
      debug() {},
      info: () => {
        throw new Error('logger broke');
      },
      warn() {},
      error: (m) => void errors.push(m),
    };
    const { open } = legacyHub({ logger });
    const { socket } = open('nodes');
    expect(() => socket.deliverRaw('garbage')).not.toThrow();
    expect(socket.closedWith).toBe(CloseCode.InternalError);
    expect(errors).toEqual(['answering a 1.x frame failed, closing the connection']);
    const { socket: other } = open('nodes');
    other.deliver({ handler: 'get', params: { id: 'n1' } });
    await tick();
    expect(other.take()).toMatchObject([{ handler: 'item', id: 'n1' }]);
  });
});
