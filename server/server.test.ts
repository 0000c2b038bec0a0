/**
 * The server end to end over real sockets (port 0), with a raw protocol client so reply shapes are asserted
 * exactly as they travel.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RawClient } from '../test/support/raw-client.js';
import { WAIT_TIMEOUT_MS, waitFor } from '../test/support/wait.js';
import { bearerVerifier } from './security/auth.js';
import { createServer, type MonorailServer } from './server.js';
import { makeNode } from './demo/fixtures.js';
import type { Doc } from '../protocol/index.js';
import { MemoryBackend } from './sources/memory.js';
import type { Source } from './hub/source.js';

let server: MonorailServer;
const clients: RawClient[] = [];

const node1 = makeNode(1, 'compute');
const node2 = makeNode(2, 'compute');
const sw = makeNode(3, 'switch');

async function connect(channel: string, protocols?: string[]): Promise<RawClient> {
  const client = await RawClient.connect(`${server.url}/${channel}`, protocols);
  clients.push(client);
  return client;
}

/** Proves nothing else is queued for this client: a pong arrives after anything sent before it. */
async function drained(client: RawClient): Promise<void> {
  client.send({ handler: 'ping' });
  const frame = await client.next();
  expect(frame).toEqual({ handler: 'pong' });
}

beforeEach(async () => {
  server = await createServer({ port: 0, seed: { nodes: [node1, node2, sw] } });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

describe('session', () => {
  it('answers init with a session id and the features it supports', async () => {
    const c = await connect('nodes');
    const session = await c.request({ handler: 'init' });
    expect(session).toEqual({ handler: 'session', id: expect.stringMatching(/^[0-9a-f]{32}$/), features: ['ping'] });
    const again = await c.request({ handler: 'init' });
    expect(again).toEqual(session);
  });

  it('gives every connection its own session id', async () => {
    const a = await connect('nodes');
    const b = await connect('nodes');
    const [sa, sb] = await Promise.all([a.request({ handler: 'init' }, 'session'), b.request({ handler: 'init' }, 'session')]);
    expect(sa.id).not.toBe(sb.id);
  });

  it('selects the monorail-ws subprotocol and never echoes a bearer token', async () => {
    const c = await connect('nodes', ['monorail-ws', 'bearer.secret']);
    expect(c.ws.protocol).toBe('monorail-ws');
  });
});

describe('reads', () => {
  it('query answers list with resource, params and the matching items', async () => {
    const c = await connect('nodes');
    expect(await c.request({ handler: 'query', params: { type: 'switch' } })).toEqual({
      handler: 'list',
      resource: 'nodes',
      params: { type: 'switch' },
      items: [sw],
    });
  });

  it('all answers list with params {} and every item', async () => {
    const c = await connect('nodes');
    expect(await c.request({ handler: 'all' })).toEqual({ handler: 'list', resource: 'nodes', params: {}, items: [node1, node2, sw] });
  });

  it('get answers item for an existing record', async () => {
    const c = await connect('nodes');
    expect(await c.request({ handler: 'get', params: { id: node2.id } })).toEqual({
      handler: 'item',
      resource: 'nodes',
      id: node2.id,
      data: node2,
    });
  });

  it('get of a missing id answers remove with that id and the params', async () => {
    const c = await connect('nodes');
    expect(await c.request({ handler: 'get', params: { id: 'nope' } })).toEqual({
      handler: 'remove',
      resource: 'nodes',
      id: 'nope',
      params: { id: 'nope' },
    });
  });

  it('routes by resource to another channel on the same connection', async () => {
    const c = await connect('nodes');
    const list = await c.request({ handler: 'all', resource: 'skus' }, 'list');
    expect(list.resource).toBe('skus');
    expect(list.items).toEqual([]);
  });

  it('answers the alias graphObjs with workflows records under the name the client used', async () => {
    await server.close();
    server = await createServer({ port: 0 });
    const c = await connect('graphObjs');
    const list = await c.request({ handler: 'all' }, 'list');
    expect(list.resource).toBe('graphObjs');
    expect(list.items.length).toBeGreaterThan(0);
    expect(list.items.every((w) => typeof w.instanceId === 'string')).toBe(true);
  });

  it('treats /nodes/ like /nodes', async () => {
    const c = await connect('nodes/');
    expect((await c.request({ handler: 'all' }, 'list')).resource).toBe('nodes');
  });
});

describe('watch', () => {
  it('sends a list snapshot, then item and remove for every change until stop', async () => {
    const c = await connect('nodes');
    expect(await c.request({ handler: 'watch', params: { type: 'compute' } })).toEqual({
      handler: 'list',
      resource: 'nodes',
      params: { type: 'compute' },
      items: [node1, node2],
    });
    const node4 = makeNode(4, 'compute');
    server.backend!.upsert('nodes', node4);
    expect(await c.next()).toEqual({ handler: 'item', resource: 'nodes', id: node4.id, data: node4 });
    server.backend!.remove('nodes', node1.id as string);
    expect(await c.next()).toEqual({ handler: 'remove', resource: 'nodes', id: node1.id });
    // A change outside the filter is not sent.
    server.backend!.upsert('nodes', makeNode(5, 'switch'));
    await drained(c);

    c.send({ handler: 'stop', params: { type: 'compute' } });
    await drained(c);
    server.backend!.upsert('nodes', { ...node2, name: 'renamed' });
    server.backend!.upsert('nodes', makeNode(6, 'compute'));
    await drained(c);
  });

  it('stop with params that name no watch is a no-op', async () => {
    const c = await connect('nodes');
    await c.request({ handler: 'watch', params: {} }, 'list');
    c.send({ handler: 'stop', params: { type: 'nothing' } });
    server.backend!.upsert('nodes', { ...node1, name: 'still watched' });
    expect((await c.next('item')).data.name).toBe('still watched');
  });

  it('stop matches params canonically (key order does not matter)', async () => {
    const c = await connect('nodes');
    await c.request({ handler: 'watch', params: { type: 'compute', name: node1.name } }, 'list');
    c.send({ handler: 'stop', params: { name: node1.name, type: 'compute' } });
    await drained(c);
    server.backend!.upsert('nodes', { ...node1, tags: ['x'] });
    await drained(c);
  });

  it('sends remove when an update takes a record out of the filter, item while another watch still holds it', async () => {
    const c = await connect('nodes');
    await c.request({ handler: 'watch', params: { type: 'compute' } }, 'list');
    await c.request({ handler: 'watch', params: { name: node2.name } }, 'list');

    // node1 leaves {type: compute} and no other watch holds it: remove.
    server.backend!.upsert('nodes', { ...node1, type: 'switch' });
    expect(await c.next()).toEqual({ handler: 'remove', resource: 'nodes', id: node1.id });

    // node2 leaves {type: compute} but {name} still holds it: item, exactly one frame.
    const moved = { ...node2, type: 'switch' };
    server.backend!.upsert('nodes', moved);
    expect(await c.next()).toEqual({ handler: 'item', resource: 'nodes', id: node2.id, data: moved });
    await drained(c);
  });

  it('operators filter watches: $in, $ne, $exists', async () => {
    const c = await connect('nodes');
    const list = await c.request({ handler: 'watch', params: { type: { $in: ['switch', 'pdu'] }, sku: { $exists: true } } }, 'list');
    expect(list.items).toEqual([sw]);
    const pdu: Doc = { ...makeNode(9, 'pdu'), sku: 'x' };
    server.backend!.upsert('nodes', pdu);
    expect((await c.next('item')).id).toBe(pdu.id);
  });

  it('two connections on different channels do not see each other’s changes', async () => {
    const nodes = await connect('nodes');
    const workflows = await connect('workflows');
    await nodes.request({ handler: 'watch', params: {} }, 'list');
    await workflows.request({ handler: 'watch', params: {} }, 'list');
    server.backend!.upsert('nodes', makeNode(10));
    expect((await nodes.next('item')).resource).toBe('nodes');
    await drained(workflows);
    server.backend!.upsert('workflows', { instanceId: 'w1', _status: 'running' });
    expect((await workflows.next('item')).id).toBe('w1');
    await drained(nodes);
  });

  it('watches on a logs channel receive appended entries that match, never remove', async () => {
    const c = await connect('logs');
    await c.request({ handler: 'watch', params: { subject: 'n1' } }, 'list');
    const entry = server.backend!.append('logs', { subject: 'n1', level: 'info', message: 'hello', timestamp: 't' });
    expect(await c.next()).toEqual({ handler: 'item', resource: 'logs', id: entry.id, data: entry });
    server.backend!.append('logs', { subject: 'n2', level: 'info', message: 'other', timestamp: 't' });
    await drained(c);
  });
});

describe('broadcast', () => {
  async function three(): Promise<[RawClient, RawClient, RawClient, string[]]> {
    const cs = [await connect('nodes'), await connect('nodes'), await connect('workflows')] as const;
    const ids: string[] = [];
    for (const c of cs) ids.push((await c.request({ handler: 'init' }, 'session')).id);
    return [...cs, ids];
  }

  it('reaches every connection without skip', async () => {
    const [a, b, c] = await three();
    server.broadcast({ handler: 'item', resource: 'x', id: '1', data: {} });
    for (const x of [a, b, c]) expect((await x.next()).handler).toBe('item');
  });

  it('skips one session id', async () => {
    const [a, b, c, ids] = await three();
    server.broadcast({ handler: 'item', resource: 'x', id: '1', data: {} }, ids[0]);
    await drained(a);
    expect((await b.next()).handler).toBe('item');
    expect((await c.next()).handler).toBe('item');
  });

  it('skips an array of session ids', async () => {
    const [a, b, c, ids] = await three();
    server.broadcast('{"handler":"pong"}', [ids[0]!, ids[2]!]);
    expect(await b.next()).toEqual({ handler: 'pong' });
    for (const x of [a, c]) {
      x.send({ handler: 'init' });
      expect((await x.next()).handler).toBe('session');
    }
  });

  it('skips connections a predicate selects', async () => {
    const [a, b, c] = await three();
    server.broadcast({ handler: 'pong' }, (conn) => conn.channel === 'nodes');
    expect(await c.next()).toEqual({ handler: 'pong' });
    for (const x of [a, b]) {
      x.send({ handler: 'init' });
      expect((await x.next()).handler).toBe('session');
    }
  });
});

describe('bad input', () => {
  const cases: Array<[string, string | object, string, boolean]> = [
    ['a non-JSON frame', 'not json', 'bad-json', false],
    ['JSON that is not an object', '[1,2]', 'bad-message', false],
    ['JSON null', 'null', 'bad-message', false],
    ['a missing handler', { params: {} }, 'bad-message', false],
    ['a non-string handler', { handler: 42 }, 'bad-message', false],
    ['an unknown handler', { handler: 'explode' }, 'unknown-handler', true],
    ['params that is not an object', { handler: 'query', params: 'type=compute' }, 'bad-params', true],
    ['params that is an array', { handler: 'watch', params: [] }, 'bad-params', true],
    ['$where', { handler: 'query', params: { $where: '1' } }, 'bad-params', true],
    ['$regex', { handler: 'watch', params: { name: { $regex: '.' } } }, 'bad-params', true],
    ['__proto__ in params', '{"handler":"query","params":{"__proto__":{"polluted":true}}}', 'bad-params', true],
    ['constructor in params', { handler: 'query', params: { constructor: { prototype: {} } } }, 'bad-params', true],
    ['an unknown channel in resource', { handler: 'all', resource: 'bogus' }, 'unknown-channel', true],
  ];

  it.each(cases)('%s gets an error with a stable code and the connection keeps serving', async (_what, frame, code, echoed) => {
    const c = await connect('nodes');
    c.send(frame);
    const error = await c.next();
    expect(error).toMatchObject({ handler: 'error', params: { code, message: expect.any(String) } });
    if (error.handler !== 'error') throw new Error('unreachable');
    if (echoed) expect(error.params.request).toMatchObject({ handler: (typeof frame === 'string' ? JSON.parse(frame) : frame).handler });
    else expect(error.params.request).toBeUndefined();
    expect(await c.request({ handler: 'query', params: { type: 'switch' } }, 'list')).toMatchObject({ items: [sw] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a binary frame gets bad-message', async () => {
    const c = await connect('nodes');
    c.ws.send(Buffer.from([1, 2, 3]));
    expect(await c.next()).toMatchObject({ handler: 'error', params: { code: 'bad-message' } });
    expect((await c.request({ handler: 'init' })).handler).toBe('session');
  });

  it('an unknown channel in the URL is accepted and every data request gets unknown-channel', async () => {
    const c = await connect('bogus');
    expect((await c.request({ handler: 'init' })).handler).toBe('session');
    expect(await c.request({ handler: 'watch', params: {} })).toEqual({
      handler: 'error',
      resource: 'bogus',
      params: {
        code: 'unknown-channel',
        message: expect.stringContaining('bogus'),
        request: { handler: 'watch', params: {} },
      },
    });
  });

  it('a bad request does not touch another connection’s state', async () => {
    const good = await connect('nodes');
    const bad = await connect('nodes');
    await good.request({ handler: 'watch', params: {} }, 'list');
    bad.send({ handler: 'stop', params: {} });
    bad.send({ handler: 'watch', params: { $where: 'x' } });
    await bad.next('error');
    server.backend!.upsert('nodes', { ...node1, name: 'changed' });
    expect((await good.next('item')).data.name).toBe('changed');
  });

  it('the cost bounds from createServer refuse over a real socket, each with its code, and the connection keeps serving', async () => {
    await server.close();
    // Reads of `rack` filters wait until released, so reads in flight are counted without racing the source.
    const held: Array<() => void> = [];
    const backend = new MemoryBackend({ seed: { nodes: [node1, node2, sw] } });
    const source: Source = {
      read: (channel, params, limit) =>
        'rack' in params
          ? new Promise((resolve) => held.push(() => resolve(backend.read(channel, params, limit))))
          : backend.read(channel, params, limit),
      get: (channel, params) => backend.get(channel, params),
    };
    const oneNode = JSON.stringify([sw]).length;
    server = await createServer({ port: 0, source, maxInValues: 3, maxWatchBytes: 2_000, maxReadsInFlight: 1, maxListBytes: oneNode });
    const c = await connect('nodes');
    const codeOf = async (frame: object) => {
      const reply = await c.request(frame, 'error');
      return [reply.params.code, reply.params.message];
    };
    expect(await codeOf({ handler: 'watch', params: { id: { $in: ['a', 'b', 'c', 'd'] } } })).toEqual([
      'too-large',
      '"id.$in" has 4 values, over maxInValues (3); split it across several filters',
    ]);
    expect(await codeOf({ handler: 'watch', params: { name: 'x'.repeat(2_000) } })).toEqual([
      'too-many-watches',
      expect.stringContaining('over maxWatchBytes (2,000)'),
    ]);
    expect(await codeOf({ handler: 'query', params: { type: 'compute' } })).toEqual([
      'too-large',
      expect.stringMatching(/over maxListBytes .* query a narrower filter$/),
    ]);
    c.send({ handler: 'query', params: { rack: 'r1' } });
    expect(await codeOf({ handler: 'query', params: { rack: 'r2' } })).toEqual([
      'too-many-reads',
      expect.stringContaining('maxReadsInFlight'),
    ]);
    for (const release of held.splice(0)) release();
    expect(await c.next('list')).toMatchObject({ params: { rack: 'r1' }, items: [] });
    expect(await c.request({ handler: 'query', params: { type: 'switch' } }, 'list')).toMatchObject({ items: [sw] });
  });

  it('maxReadBytes from createServer: a distinct read past it gets too-many-reads over a real socket, a join does not, an answer gives the bytes back', async () => {
    await server.close();
    const held: Array<() => void> = [];
    const backend = new MemoryBackend({ seed: { nodes: [node1, node2, sw] } });
    // A source that answers nothing until released, as a stalled MongoDB would.
    const source: Source = {
      read: (channel, params, limit) => new Promise((resolve) => held.push(() => resolve(backend.read(channel, params, limit)))),
      get: (channel, params) => backend.get(channel, params),
    };
    // One small read is estimated at a little over 2 KB (readBytes): one fits in 3,000 bytes, two do not.
    server = await createServer({ port: 0, source, maxReadBytes: 3_000 });
    const c = await connect('nodes');
    c.send({ handler: 'query', params: { rack: 'r1' } });
    const refused = await c.request({ handler: 'query', params: { rack: 'r2' } }, 'error');
    expect([refused.params.code, refused.params.request]).toEqual(['too-many-reads', { handler: 'query', params: { rack: 'r2' } }]);
    expect(refused.params.message).toMatch(/: over maxReadBytes \(3,000\); wait for their answers$/);
    // Identical to the read in flight: joined, not refused; both are answered when the source answers.
    c.send({ handler: 'query', params: { rack: 'r1' } });
    // Frames are answered in order: once the pong is back, the join has been made.
    await c.request({ handler: 'ping' }, 'pong');
    expect(held).toHaveLength(1);
    for (const release of held.splice(0)) release();
    expect(await c.next('list')).toMatchObject({ params: { rack: 'r1' } });
    expect(await c.next('list')).toMatchObject({ params: { rack: 'r1' } });
    c.send({ handler: 'query', params: { rack: 'r2' } });
    await waitFor(() => held.length === 1);
    for (const release of held.splice(0)) release();
    expect(await c.next('list')).toMatchObject({ params: { rack: 'r2' }, items: [] });
  });

  it('a frame over maxPayload closes the connection with 1009 and others keep working', async () => {
    await server.close();
    server = await createServer({ port: 0, maxPayload: 1024, seed: { nodes: [sw] } });
    const other = await connect('nodes');
    const c = await connect('nodes');
    c.send({ handler: 'query', params: { name: 'x'.repeat(2000) } });
    expect((await c.closed()).code).toBe(1009);
    expect((await other.request({ handler: 'all' }, 'list')).items).toEqual([sw]);
  });
});

describe('server API', () => {
  it('emits connection with the seed conn API: message, send, close', async () => {
    const seen: string[] = [];
    let closed = false;
    server.on('connection', (conn) => {
      conn.on('message', (m) => seen.push(m.handler));
      conn.on('close', () => (closed = true));
      conn.send({ handler: 'pong' });
    });
    const c = await connect('nodes');
    expect(await c.next()).toEqual({ handler: 'pong' });
    await c.request({ handler: 'init' }, 'session');
    expect(seen).toEqual(['init']);
    c.close();
    await waitFor(() => closed, WAIT_TIMEOUT_MS, 'the server to see the close');
  });

  it('close() sends 1001 to every client', async () => {
    const c = await connect('nodes');
    await c.request({ handler: 'init' }, 'session');
    await server.close();
    expect((await c.closed()).code).toBe(1001);
  });

  it('answers plain HTTP with 426 and /healthz with ok and nothing else (no connection count)', async () => {
    const base = server.url.replace('ws://', 'http://');
    expect((await fetch(`${base}/nodes`)).status).toBe(426);
    await connect('nodes');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
  });

  it('/debug/stats goes through authenticate when it is set: 401 without a principal (regression: served to anyone)', async () => {
    const guarded = await createServer({
      port: 0,
      debugStats: true,
      authenticate: bearerVerifier((t) => (t === 'operator-token' ? { user: 'operator' } : null)),
    });
    try {
      const base = guarded.url.replace('ws://', 'http://');
      const anonymous = await fetch(`${base}/debug/stats`);
      expect(anonymous.status).toBe(401);
      expect(await anonymous.text()).not.toContain('memory');
      expect((await fetch(`${base}/debug/stats`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const allowed = await fetch(`${base}/debug/stats`, { headers: { authorization: 'Bearer operator-token' } });
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toMatchObject({ hub: { connections: 0 }, memory: { rss: expect.any(Number) } });
    } finally {
      await guarded.close();
    }
  });

  it('/debug/stats answers 503 when authenticate throws or does not settle in time (it could not tell)', async () => {
    for (const authenticate of [
      () => {
        throw new Error('identity provider down');
      },
      () => new Promise(() => undefined),
    ]) {
      const guarded = await createServer({ port: 0, debugStats: true, authenticate, authenticateTimeoutMs: 20 });
      try {
        expect((await fetch(`${guarded.url.replace('ws://', 'http://')}/debug/stats`)).status).toBe(503);
      } finally {
        await guarded.close();
      }
    }
  });

  it('/debug/stats is not served without debugStats, whatever authenticate says', async () => {
    const base = server.url.replace('ws://', 'http://');
    expect((await fetch(`${base}/debug/stats`)).status).toBe(426);
  });

  it('rejects nothing at the handshake for a missing subprotocol (seed clients offer none)', async () => {
    const ws = new WebSocket(`${server.url}/nodes`);
    await new Promise((r) => ws.once('open', r));
    expect(ws.protocol).toBe('');
    ws.close();
  });
});
