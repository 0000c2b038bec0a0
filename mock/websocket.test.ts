/**
 * `mock.WebSocket` as a browser WebSocket: constructor and method errors, ready states and the event-listener
 * semantics an application may rely on. Gaps of mock-socket are tested in mock-server.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../test/support/wait.js';
import { createMockServer, type MockServer } from './index.js';

let mock: MockServer;
afterEach(async () => {
  await mock?.close();
});

function setup(): MockServer {
  mock = createMockServer({ url: 'ws://localhost:9130', fixtures: { skus: [] } });
  return mock;
}

describe('mock.WebSocket', () => {
  it('throws like a browser for a bad URL, scheme, fragment or subprotocol', () => {
    const { WebSocket } = setup();
    const error = (fn: () => unknown): string => {
      try {
        fn();
      } catch (e) {
        return (e as Error).name;
      }
      return 'no error';
    };
    expect(error(() => new WebSocket('not a url'))).toBe('SyntaxError');
    expect(error(() => new WebSocket('http://localhost:9130/nodes'))).toBe('SyntaxError');
    expect(error(() => new WebSocket('ws://localhost:9130/nodes#x'))).toBe('SyntaxError');
    expect(error(() => new WebSocket('ws://localhost:9130/nodes', ['a b']))).toBe('SyntaxError');
    expect(error(() => new WebSocket('ws://localhost:9130/nodes', ['x', 'x']))).toBe('SyntaxError');
    expect(mock.hub.stats().connections).toBe(0);
  });

  it('has the ready-state constants and moves CONNECTING → OPEN → CLOSING → CLOSED', async () => {
    const { WebSocket } = setup();
    expect([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
    const ws = new WebSocket(`${mock.url}/skus`);
    expect(ws.readyState).toBe(ws.CONNECTING);
    expect(ws.url).toBe('ws://localhost:9130/skus');
    expect(() => ws.send('{}')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }) as Error);
    await waitFor(() => ws.readyState === ws.OPEN);
    let close: { code: number; wasClean: boolean } | undefined;
    ws.onclose = (e) => (close = e);
    ws.close(4000, 'bye');
    expect(ws.readyState).toBe(ws.CLOSING);
    ws.send('ignored once closing');
    await waitFor(() => close);
    expect(close).toMatchObject({ code: 4000, reason: 'bye', wasClean: true });
    expect(ws.readyState).toBe(ws.CLOSED);
    await waitFor(() => mock.hub.stats().connections === 0);
  });

  it('close() refuses codes and reasons a browser refuses', async () => {
    const { WebSocket } = setup();
    const ws = new WebSocket(`${mock.url}/skus`);
    await waitFor(() => ws.readyState === ws.OPEN);
    expect(() => ws.close(1001)).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }) as Error);
    expect(() => ws.close(1000, 'x'.repeat(124))).toThrow(expect.objectContaining({ name: 'SyntaxError' }) as Error);
    expect(ws.readyState).toBe(ws.OPEN);
    ws.close();
  });

  it('runs on<event> handlers and listeners in registration order, with once, handleEvent and removal', async () => {
    const { WebSocket } = setup();
    const ws = new WebSocket(`${mock.url}/skus`);
    const seen: string[] = [];
    const removed = (): number => seen.push('removed');
    ws.addEventListener('message', () => seen.push('first'));
    ws.onmessage = () => seen.push('attribute v1');
    ws.addEventListener('message', { handleEvent: () => seen.push('object') });
    ws.addEventListener('message', () => seen.push('once'), { once: true });
    ws.addEventListener('message', removed);
    ws.addEventListener('message', removed);
    ws.removeEventListener('message', removed);
    // Replacing the attribute handler keeps its place.
    ws.onmessage = () => seen.push('attribute v2');
    await waitFor(() => ws.readyState === ws.OPEN);
    ws.send(JSON.stringify({ handler: 'ping' }));
    ws.send(JSON.stringify({ handler: 'ping' }));
    await waitFor(() => seen.length === 7);
    expect(seen).toEqual(['first', 'attribute v2', 'object', 'once', 'first', 'attribute v2', 'object']);
    ws.onmessage = null;
    expect(ws.onmessage).toBeNull();
    ws.close();
  });

  it('is what Connection needs: a token offers bearer.<token> next to monorail-ws and only monorail-ws comes back', async () => {
    const { WebSocket } = setup();
    const offered: string[][] = [];
    class Spy extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        offered.push([protocols ?? []].flat());
      }
    }
    const { Connection } = await import('../client/index.js');
    const c = new Connection(`${mock.url}/skus`, { WebSocket: Spy, token: 'secret', heartbeat: false });
    await new Promise<string>((resolve) => c.init(resolve));
    expect(offered).toEqual([['monorail-ws', 'bearer.secret']]);
    expect((c.wsConn as InstanceType<typeof WebSocket>).protocol).toBe('monorail-ws');
    c.disconnect();
  });
});
