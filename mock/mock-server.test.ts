/**
 * The mock server: each gap of mock-socket 9.3 it hides has a test named after it, then the control API, fixtures
 * and life cycle. Client-behaviour parity with the real server is the contract suite's job (test/contract.test.ts).
 */
import { Server, WebSocket as MockSocketWebSocket } from 'mock-socket';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Connection } from '../client/index.js';
import type { ServerMessage } from '../protocol/index.js';
import { waitFor } from '../test/support/wait.js';
import { record } from '../test/support/client-events.js';
import {
  createMockServer,
  defaultFixtures,
  installGlobalWebSocket,
  makeNode,
  startDemo,
  type MockServer,
  type MockServerOptions,
} from './index.js';
import type { MockCloseEvent, MockErrorEvent, MockWebSocket } from './websocket.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function mockAt(url: string, options: Partial<MockServerOptions> = {}): MockServer {
  const mock = createMockServer({ url, ...options });
  cleanup.push(() => mock.close());
  return mock;
}

/** A raw client of the mock: records the events it sees, in order, and every frame parsed. */
interface Raw {
  ws: MockWebSocket;
  log: string[];
  frames: ServerMessage[];
  closeEvent?: MockCloseEvent;
  errorEvent?: MockErrorEvent;
}

function raw(mock: MockServer, url: string, protocols?: string[]): Raw {
  const ws = new mock.WebSocket(url, protocols);
  const r: Raw = { ws, log: [], frames: [] };
  ws.onopen = () => r.log.push('open');
  ws.onerror = (e) => {
    r.log.push('error');
    r.errorEvent = e;
  };
  ws.onmessage = (e) => r.frames.push(JSON.parse(e.data as string) as ServerMessage);
  ws.onclose = (e) => {
    r.log.push(`close ${e.code}`);
    r.closeEvent = e;
  };
  cleanup.push(() => ws.readyState === ws.OPEN && ws.close());
  return r;
}

async function open(mock: MockServer, url: string, protocols?: string[]): Promise<Raw> {
  const r = raw(mock, url, protocols);
  await waitFor(() => r.ws.readyState !== r.ws.CONNECTING, 2000, `${url} to open or fail`);
  expect(r.log).toEqual(['open']);
  return r;
}

async function request(r: Raw, message: object): Promise<ServerMessage> {
  const before = r.frames.length;
  r.ws.send(JSON.stringify(message));
  return waitFor(() => r.frames[before], 2000, `an answer to ${JSON.stringify(message)}`);
}

async function closed(r: Raw): Promise<MockCloseEvent> {
  return waitFor(() => r.closeEvent, 2000, 'close');
}

describe('mock-socket gaps the mock hides', () => {
  it('never patches the global WebSocket (mock-socket patches it unless {mock: false})', async () => {
    const sentinel = class NativeWebSocket {};
    const restore = installGlobalWebSocket({ WebSocket: sentinel as never });
    cleanup.push(restore);
    // The gap: mock-socket's own Server replaces the global.
    const plain = new Server('ws://gap.test:1');
    expect(globalThis.WebSocket).toBe(MockSocketWebSocket);
    plain.stop();
    expect(globalThis.WebSocket).toBe(sentinel);

    const mock = mockAt('ws://localhost:9101');
    await open(mock, `${mock.url}/nodes`);
    expect(globalThis.WebSocket).toBe(sentinel);
    await mock.close();
    expect(globalThis.WebSocket).toBe(sentinel);
  });

  it('installGlobalWebSocket is the explicit opt-in, and its restore function puts the previous global back', () => {
    const mock = mockAt('ws://localhost:9102');
    const before = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
    const restore = installGlobalWebSocket(mock);
    expect(globalThis.WebSocket).toBe(mock.WebSocket);
    restore();
    expect(Object.getOwnPropertyDescriptor(globalThis, 'WebSocket')).toEqual(before);
  });

  it('every path under mock.url reaches the hub with its path (mock-socket connects only registered exact URLs)', async () => {
    const mock = mockAt('ws://localhost:9103');
    const nodes = await open(mock, `${mock.url}/nodes`);
    expect(await request(nodes, { handler: 'query', params: { type: 'pdu' } })).toMatchObject({
      handler: 'list',
      resource: 'nodes',
      params: { type: 'pdu' },
    });
    const slash = await open(mock, `${mock.url}/nodes/`);
    expect(await request(slash, { handler: 'all' })).toMatchObject({ handler: 'list', resource: 'nodes' });
    const alias = await open(mock, `${mock.url}/graphObjs?client=ui`);
    expect(await request(alias, { handler: 'all' })).toMatchObject({ handler: 'list', resource: 'graphObjs' });
    // An unknown channel connects and gets the same error reply as on the real server; the connection stays open.
    const unknown = await open(mock, `${mock.url}/nope`);
    expect(await request(unknown, { handler: 'all' })).toEqual({
      handler: 'error',
      resource: 'nope',
      params: {
        code: 'unknown-channel',
        message: expect.stringContaining('unknown channel "nope"') as string,
        request: { handler: 'all' },
      },
    });
    expect(unknown.ws.readyState).toBe(unknown.ws.OPEN);
    const root = await open(mock, `${mock.url}/`);
    expect(await request(root, { handler: 'all' })).toMatchObject({ handler: 'error', params: { code: 'unknown-channel' } });
    expect(mock.hub.stats().connections).toBe(5);
  });

  it('a mock with a path prefix serves every path under it and nothing outside it', async () => {
    const mock = mockAt('ws://localhost:9104/api/ws/');
    expect(mock.url).toBe('ws://localhost:9104/api/ws');
    const nodes = await open(mock, `${mock.url}/nodes`);
    expect(await request(nodes, { handler: 'get', params: { id: 'x' } })).toEqual({
      handler: 'remove',
      resource: 'nodes',
      id: 'x',
      params: { id: 'x' },
    });
    const outside = raw(mock, 'ws://localhost:9104/other/nodes');
    expect((await closed(outside)).code).toBe(1006);
    expect(outside.log).toEqual(['error', 'close 1006']);
  });

  it('a URL outside mock.url fails like an unreachable host: error, then close 1006 (localhost and 127.0.0.1 are different hosts)', async () => {
    const mock = mockAt('ws://localhost:9105');
    for (const url of ['ws://127.0.0.1:9105/nodes', 'ws://localhost:9999/nodes', 'wss://localhost:9105/nodes']) {
      const r = raw(mock, url);
      const event = await closed(r);
      expect(r.log, url).toEqual(['error', 'close 1006']);
      expect(event).toMatchObject({ code: 1006, reason: '', wasClean: false });
      expect(r.ws.readyState).toBe(r.ws.CLOSED);
    }
    // Host case and the default port are normalised like any URL.
    const upper = await open(mock, 'WS://LOCALHOST:9105/nodes');
    expect(upper.ws.url).toBe('ws://localhost:9105/nodes');
    const mock80 = mockAt('ws://localhost:80');
    expect(mock80.url).toBe('ws://localhost');
    await open(mock80, 'ws://localhost/nodes');
    expect(mock.hub.stats().connections).toBe(1);
  });

  it('a refused connect reports error, then close 1006 like a real socket (mock-socket reports 1000)', async () => {
    const mock = mockAt('ws://localhost:9106');
    mock.refuse(true);
    expect(mock.refusing).toBe(true);
    const refused = raw(mock, `${mock.url}/nodes`);
    expect(await closed(refused)).toMatchObject({ code: 1006, reason: '', wasClean: false });
    expect(refused.log).toEqual(['error', 'close 1006']);
    mock.refuse(false);
    await open(mock, `${mock.url}/nodes`);
  });

  it('a refusal that starts during the handshake (mock-socket verifyClient, which reports 1000) is reported as 1006', async () => {
    const mock = mockAt('ws://localhost:9107');
    const r = raw(mock, `${mock.url}/nodes`);
    mock.refuse(true);
    expect(await closed(r)).toMatchObject({ code: 1006, wasClean: false });
    expect(r.log).toEqual(['error', 'close 1006']);
    expect(mock.hub.stats().connections).toBe(0);
  });

  it('a dropped connection reports 1006 like a real socket (mock-socket reports 1000), or the code dropAll was given', async () => {
    const mock = mockAt('ws://localhost:9108');
    const a = await open(mock, `${mock.url}/nodes`);
    const b = await open(mock, `${mock.url}/workflows`);
    expect(mock.dropAll()).toBe(2);
    expect(await closed(a)).toMatchObject({ code: 1006, reason: '', wasClean: false });
    expect(await closed(b)).toMatchObject({ code: 1006, wasClean: false });
    expect(a.log).toEqual(['open', 'close 1006']);
    await waitFor(() => mock.hub.stats().connections === 0);
    const c = await open(mock, `${mock.url}/nodes`);
    expect(mock.dropAll(1013, 'overloaded')).toBe(1);
    expect(await closed(c)).toMatchObject({ code: 1013, reason: 'overloaded', wasClean: true });
  });

  it('close() while connecting reports error, then close 1006, as browsers do', async () => {
    const mock = mockAt('ws://localhost:9109');
    const r = raw(mock, `${mock.url}/nodes`);
    r.ws.close(1000);
    expect(r.ws.readyState).toBe(r.ws.CLOSING);
    expect(await closed(r)).toMatchObject({ code: 1006, wasClean: false });
    expect(r.log).toEqual(['error', 'close 1006']);
  });

  it('delivers frames asynchronously (mock-socket sends synchronously): nothing arrives inside send or inside a change', async () => {
    const mock = mockAt('ws://localhost:9110');
    const r = await open(mock, `${mock.url}/nodes`);
    await request(r, { handler: 'watch', params: { type: 'switch' } });
    const before = r.frames.length;
    mock.upsert('nodes', makeNode(60, 'switch'));
    mock.upsert('nodes', makeNode(61, 'switch'));
    expect(r.frames.length).toBe(before);
    await waitFor(() => r.frames.length === before + 2);
    expect(r.frames.slice(before).map((f) => f.handler === 'item' && f.data.id)).toEqual([makeNode(60).id, makeNode(61).id]);
  });

  it('latencyMs delays every frame by at least that much, keeping their order', async () => {
    const mock = mockAt('ws://localhost:9111', { latencyMs: 40 });
    const r = await open(mock, `${mock.url}/skus`);
    const sent = performance.now();
    r.ws.send(JSON.stringify({ handler: 'init' }));
    r.ws.send(JSON.stringify({ handler: 'all' }));
    r.ws.send(JSON.stringify({ handler: 'ping' }));
    await waitFor(() => r.frames.length === 3);
    expect(performance.now() - sent).toBeGreaterThanOrEqual(40);
    expect(r.frames.map((f) => f.handler)).toEqual(['session', 'list', 'pong']);
    // A close the server sends comes after the frames sent before it.
    const c = await open(mock, `${mock.url}/skus`);
    c.ws.send(JSON.stringify({ handler: 'all' }));
    await waitFor(() => mock.hub.stats().sourceReads === 2);
    await mock.close();
    expect(c.frames.map((f) => f.handler)).toEqual(['list']);
    expect(c.closeEvent?.code).toBe(1001);
  });

  it('a client listener that throws cannot break the fan-out to other clients or its own other listeners', async () => {
    const errors: unknown[] = [];
    const mock = mockAt('ws://localhost:9112', { onListenerError: (e) => errors.push(e) });
    const bad = await open(mock, `${mock.url}/nodes`);
    const good = await open(mock, `${mock.url}/nodes`);
    for (const r of [bad, good]) await request(r, { handler: 'watch', params: {} });
    const seenByOther: unknown[] = [];
    bad.ws.onmessage = () => {
      throw new Error('onmessage bug');
    };
    bad.ws.addEventListener('message', () => {
      throw new Error('listener bug');
    });
    bad.ws.addEventListener('message', (e) => seenByOther.push(e.data));
    mock.upsert('nodes', makeNode(70, 'compute'));
    mock.upsert('nodes', makeNode(71, 'compute'));
    await waitFor(() => good.frames.length === 3 && seenByOther.length === 2);
    expect(errors.map((e) => (e as Error).message)).toEqual(['onmessage bug', 'listener bug', 'onmessage bug', 'listener bug']);
    // The hub is fine: it still answers both.
    expect(await request(good, { handler: 'get', params: { id: makeNode(71).id as string } })).toMatchObject({ handler: 'item' });
    expect(mock.hub.stats().connections).toBe(2);
  });

  it('without onListenerError a listener error is rethrown on a later task, never into the hub', async () => {
    const mock = mockAt('ws://localhost:9113');
    const thrown: unknown[] = [];
    const original = globalThis.setTimeout;
    // Catch the rethrow by running the scheduled callback ourselves.
    const spy = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      original(() => {
        try {
          fn(...args);
        } catch (e) {
          thrown.push(e);
        }
      }, ms)) as typeof setTimeout;
    globalThis.setTimeout = spy;
    cleanup.push(() => (globalThis.setTimeout = original));
    const r = await open(mock, `${mock.url}/nodes`);
    r.ws.addEventListener('message', () => {
      throw new Error('app bug');
    });
    expect(await request(r, { handler: 'init' })).toMatchObject({ handler: 'session' });
    await waitFor(() => thrown.length === 1);
    expect((thrown[0] as Error).message).toBe('app bug');
  });

  it('two mocks on different URLs work side by side with their own data (no module-level state)', async () => {
    const a = mockAt('ws://localhost:9114', { fixtures: { nodes: [makeNode(1, 'compute')] } });
    const b = mockAt('ws://localhost:9115', { fixtures: { nodes: [makeNode(2, 'switch'), makeNode(3, 'pdu')] } });
    const ca = new Connection(`${a.url}/nodes`, { WebSocket: a.WebSocket, heartbeat: false });
    const cb = new Connection(`${b.url}/nodes`, { WebSocket: b.WebSocket, heartbeat: false });
    cleanup.push(
      () => ca.disconnect(),
      () => cb.disconnect(),
    );
    ca.watch({});
    cb.watch({});
    await waitFor(() => ca.store.size === 1 && cb.store.size === 2);
    a.upsert('nodes', makeNode(9, 'compute'));
    await waitFor(() => ca.store.size === 2);
    expect(cb.store.size).toBe(2);
    // Each mock's WebSocket reaches only its own mock.
    expect((await closed(raw(a, `${b.url}/nodes`))).code).toBe(1006);
    // Closing one leaves the other serving.
    await a.close();
    b.upsert('nodes', makeNode(10, 'switch'));
    await waitFor(() => cb.store.size === 3);
    expect(b.hub.stats().connections).toBe(1);
  });

  it('a second mock on the same URL is refused, and the URL is free again after close()', async () => {
    const first = createMockServer({ url: 'ws://localhost:9116' });
    expect(() => createMockServer({ url: 'ws://localhost:9116/' })).toThrow(/another mock server already serves ws:\/\/localhost:9116/);
    await first.close();
    const second = mockAt('ws://localhost:9116');
    await open(second, `${second.url}/nodes`);
  });

  it('a URL outside mock.url says why on its first failure (the URL asked for and the mock’s), then fails quietly', async () => {
    const mock = mockAt('ws://127.0.0.1:9130');
    const first = raw(mock, 'ws://localhost:9130/nodes');
    expect(await closed(first)).toMatchObject({ code: 1006, wasClean: false });
    expect(first.log).toEqual(['error', 'close 1006']);
    expect(first.errorEvent?.message).toBe(
      'monorail-ws/mock: nothing serves ws://localhost:9130/nodes: this mock serves ws://127.0.0.1:9130/<channel> only ' +
        '(scheme, host and port as written: localhost and 127.0.0.1 differ). Later retries of this URL fail without an error event.',
    );
    // The same URL again (a client's retry): the close alone. Another URL: its own message.
    const again = raw(mock, 'ws://localhost:9130/nodes');
    expect((await closed(again)).code).toBe(1006);
    expect(again.log).toEqual(['close 1006']);
    const port = raw(mock, 'ws://127.0.0.1:9131/nodes');
    await closed(port);
    expect(port.errorEvent?.message).toMatch(/nothing serves ws:\/\/127\.0\.0\.1:9131\/nodes: this mock serves ws:\/\/127\.0\.0\.1:9130\//);
    // An outage the application asked for stays as silent as a real one.
    mock.refuse(true);
    const refused = raw(mock, `${mock.url}/nodes`);
    await closed(refused);
    expect(refused.log).toEqual(['error', 'close 1006']);
    expect(refused.errorEvent?.message).toBeUndefined();
    mock.refuse(false);
    await mock.close();
    const late = raw(mock, `${mock.url}/nodes`);
    await closed(late);
    expect(late.errorEvent?.message).toMatch(
      /nothing serves ws:\/\/127\.0\.0\.1:9130\/nodes: the mock server at ws:\/\/127\.0\.0\.1:9130 is closed/,
    );
  });

  it('a client on the wrong host gets one error event naming both URLs, and keeps retrying (close 1006, reconnecting)', async () => {
    const mock = mockAt('ws://127.0.0.1:9132');
    const nodes = new Connection('ws://localhost:9132/nodes', {
      WebSocket: mock.WebSocket,
      heartbeat: false,
      backoff: { baseMs: 1, maxMs: 5 },
    });
    cleanup.push(() => nodes.disconnect());
    const errors = record(nodes, 'error');
    const retries = record(nodes, 'reconnecting');
    await waitFor(() => retries.length >= 5, 5000, 'five reconnects');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ kind: 'socket' });
    const { message } = (errors[0] as { event: MockErrorEvent }).event;
    expect(message).toContain('ws://localhost:9132/nodes');
    expect(message).toContain('ws://127.0.0.1:9132');
    expect(nodes.state).toBe('reconnecting');
  });

  it('selects monorail-ws when offered and never echoes the bearer token, like the real server', async () => {
    const mock = mockAt('ws://localhost:9117');
    expect((await open(mock, `${mock.url}/nodes`, ['monorail-ws', 'bearer.secret'])).ws.protocol).toBe('monorail-ws');
    expect((await open(mock, `${mock.url}/nodes`)).ws.protocol).toBe('');
    // A server that selects none of the offered subprotocols fails the handshake in browsers and ws.
    const other = raw(mock, `${mock.url}/nodes`, ['bearer.secret']);
    expect((await closed(other)).code).toBe(1006);
    expect(other.log).toEqual(['error', 'close 1006']);
    expect(other.ws.protocol).toBe('');
  });
});

describe('control API and fixtures', () => {
  it('defaults to the RackHD demo set; a channel given replaces only that channel, [] empties it', () => {
    const all = mockAt('ws://localhost:9120');
    expect(all.backend.all('nodes')).toEqual(defaultFixtures().nodes);
    expect(all.backend.all('workflows').length).toBe(5);
    const custom = mockAt('ws://localhost:9121', { fixtures: { nodes: [makeNode(1, 'switch')], logs: [] } });
    expect(custom.backend.all('nodes')).toEqual([makeNode(1, 'switch')]);
    expect(custom.backend.all('logs')).toEqual([]);
    expect(custom.backend.all('skus')).toEqual(defaultFixtures().skus);
    expect(() => createMockServer({ url: 'ws://localhost:9122', fixtures: { nope: [] } })).toThrow(/fixtures for unknown channel "nope"/);
    // An alias names the same channel.
    const aliased = mockAt('ws://localhost:9127', { fixtures: { graphObjs: [] } });
    expect(aliased.backend.all('workflows')).toEqual([]);
  });

  it('upsert, remove, log and event change the backend and return what they stored', () => {
    const mock = mockAt('ws://localhost:9123', { fixtures: { nodes: [], logs: [], events: [] } });
    expect(mock.upsert('nodes', { id: 'n1', type: 'compute' })).toEqual({ id: 'n1', type: 'compute' });
    expect(mock.remove('nodes', 'n1')).toBe(true);
    expect(mock.remove('nodes', 'n1')).toBe(false);
    const line = mock.log({ subject: 'Server', level: 'info', message: 'hello' });
    expect(line).toMatchObject({ subject: 'Server', message: 'hello', id: expect.stringMatching(/^[0-9a-f]{16}$/) as string });
    expect(mock.log({ subject: 'Server', level: 'info', message: 'hello' }).id).toBe(line.id);
    expect(mock.event({ type: 'node', action: 'discovered' }).id).toMatch(/^[0-9a-f]{16}$/);
    expect(mock.backend.all('logs').length).toBe(1);
    expect(mock.backend.all('events').length).toBe(1);
  });

  it('mq streams the control API’s logs and events in RackHD’s formats, to the SDK’s append-only store', async () => {
    const mock = mockAt('ws://localhost:9128', { fixtures: { logs: [], events: [] } });
    const mq = new Connection(`${mock.url}/mq`, { WebSocket: mock.WebSocket });
    cleanup.push(() => mq.disconnect());
    mq.watch({ exchange: 'on.logging', routingKey: '#' });
    mq.watch({ exchange: 'on.events', routingKey: 'node.#' });
    await waitFor(() => mq.state === 'open');
    mock.log({ subject: 'Server', level: 'info', name: 'on-http', message: 'hello' });
    mock.event({ type: 'node', action: 'discovered', severity: 'information', typeId: 'n1', nodeId: 'n1', data: {} });
    mock.event({ type: 'graph', action: 'started', severity: 'information', typeId: 'g1', nodeId: 'n1', data: {} });
    const entries = await waitFor(() => (mq.store.size === 2 ? mq.store.getSnapshot() : undefined));
    expect(entries.map((e) => [e.exchange, e.routingKey])).toEqual([
      ['on.logging', 'info'],
      ['on.events', 'node.discovered.information.n1.n1'],
    ]);
  });

  it('below its URL, /rackhd/<channel> speaks RackHD’s 1.x dialect, as the server does', async () => {
    const mock = mockAt('ws://localhost:9129/base');
    const legacy = await open(mock, `${mock.url}/rackhd/nodes`);
    legacy.ws.send(JSON.stringify({ handler: 'watch', resource: null, params: null }));
    legacy.ws.send(JSON.stringify({ handler: 'nope' }));
    await waitFor(() => mock.hub.stats().watches === 1);
    mock.upsert('nodes', { id: 'n-1x', type: 'compute' });
    expect(await waitFor(() => legacy.frames[0])).toEqual({
      handler: 'item',
      resource: 'nodes',
      id: ['created', 'n-1x'],
      data: { id: 'n-1x', type: 'compute' },
    });
    expect(legacy.frames).toHaveLength(1);
    const sdk = await open(mock, `${mock.url}/nodes`);
    expect(await request(sdk, { handler: 'nope' })).toMatchObject({ handler: 'error', params: { code: 'unknown-handler' } });
  });

  it('close() sends 1001 to every client, then new connections fail with 1006', async () => {
    const mock = mockAt('ws://localhost:9124');
    const r = await open(mock, `${mock.url}/nodes`);
    await mock.close();
    expect(r.closeEvent).toMatchObject({ code: 1001, reason: 'server shutting down', wasClean: true });
    const late = raw(mock, `${mock.url}/nodes`);
    expect((await closed(late)).code).toBe(1006);
    expect(mock.hub.stats().connections).toBe(0);
  });

  it('close() resolves when a test restored real timers while a frame waited on the fake clock (it hung: the close queued behind it)', async () => {
    const mock = mockAt('ws://localhost:9140');
    const r = await open(mock, `${mock.url}/nodes`);
    expect(await request(r, { handler: 'watch', params: {} })).toMatchObject({ handler: 'list' });
    vi.useFakeTimers();
    try {
      mock.upsert('nodes', makeNode(70)); // its delivery is scheduled on the fake clock
    } finally {
      vi.useRealTimers(); // as an afterEach does, before it closes the mock
    }
    let done = false;
    void mock.close().then(() => (done = true));
    await waitFor(() => done, 2000, 'mock.close() to resolve');
    expect(r.frames.at(-1)).toMatchObject({ handler: 'item', id: makeNode(70).id });
    expect(r.closeEvent?.code).toBe(1001);
  });

  it('startDemo (exported for in-page demo data) runs the demo simulator on the mock: watchers see nodes discovered', async () => {
    const mock = mockAt('ws://localhost:9127', { fixtures: { nodes: [], workflows: [], logs: [] } });
    const nodes = new Connection(`${mock.url}/nodes`, { WebSocket: mock.WebSocket, heartbeat: false });
    const logs = new Connection(`${mock.url}/logs`, { WebSocket: mock.WebSocket, heartbeat: false });
    cleanup.push(
      () => nodes.disconnect(),
      () => logs.disconnect(),
    );
    nodes.watch({});
    logs.watch({});
    await waitFor(() => nodes.state === 'open' && logs.state === 'open', 2000, 'both open');
    // Stepped by hand (no timer): `intervalMs` drives it in a page.
    const demo = startDemo(mock.backend, { timers: { setInterval: () => 0, clearInterval: () => undefined } });
    cleanup.push(() => demo.stop());
    for (let i = 0; i < 10; i++) demo.step();
    const ids = (docs: readonly { id?: unknown }[]) => docs.map((d) => String(d.id)).sort();
    const simulated = ids(mock.backend.all('nodes'));
    expect(simulated.length).toBeGreaterThan(0);
    await waitFor(
      () => ids(nodes.store.getSnapshot()).join() === simulated.join() && logs.store.size > 0,
      2000,
      'the simulated nodes and log lines in the client’s stores',
    );
  });

  it('rejects a URL that is not ws:// or wss:// and a negative latency, with a usage hint', () => {
    expect(() => createMockServer({ url: 'http://localhost:9100' })).toThrow(/ws:\/\/ or wss:\/\/ URL/);
    expect(() => createMockServer({ url: 'localhost:9100' })).toThrow(/ws:\/\/localhost:9100/);
    expect(() => createMockServer({ url: 'ws://localhost:9125', latencyMs: -1 })).toThrow(/latencyMs/);
  });

  it('a frame over maxPayload closes that connection with 1009 and the others keep working', async () => {
    const mock = mockAt('ws://localhost:9126', { maxPayload: 1024 });
    const other = await open(mock, `${mock.url}/nodes`);
    const big = await open(mock, `${mock.url}/nodes`);
    big.ws.send(JSON.stringify({ handler: 'query', params: { name: 'x'.repeat(2000) } }));
    expect((await closed(big)).code).toBe(1009);
    expect(await request(other, { handler: 'query', params: { type: 'pdu' } })).toMatchObject({ handler: 'list' });
  });
});
