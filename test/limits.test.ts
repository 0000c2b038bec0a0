/**
 * The message-rate limit against the real server with its default numbers: a reconnecting client replaying the
 * most it can (init, 100 watches, 1,000 queued requests) stays within the burst; a flood is closed with 4429
 * after the burst, and other connections keep working.
 */
import WebSocket from 'isomorphic-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../client/index.js';
import { DEFAULTS } from '../protocol/index.js';
import { createServer, type MonorailServer } from '../server/index.js';
import { demoFixtures } from '../server/demo/fixtures.js';
import { RawClient } from './support/raw-client.js';
import { waitFor } from './support/wait.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(): Promise<MonorailServer> {
  const server = await createServer({ port: 0, seed: demoFixtures() });
  cleanup.push(() => server.close());
  return server;
}

describe('messages per second per connection (defaults)', () => {
  it('a reconnecting client that replays init, the maximum of watches and a full queue is not rate limited', async () => {
    const server = await serve();
    const c = new Connection(`${server.url}/nodes`, { WebSocket, autoConnect: false, heartbeat: false });
    cleanup.push(() => c.disconnect());
    for (let i = 0; i < DEFAULTS.maxWatches; i++) c.watch({ name: `node-${i}` });
    for (let i = 0; i < DEFAULTS.maxQueue; i++) c.query({ id: `q${i}` });
    let lists = 0;
    const closes: number[] = [];
    const errors: unknown[] = [];
    c.events.on('list', () => lists++);
    c.events.on('close', (e) => closes.push(e.code));
    c.events.on('error', (e) => errors.push(e));
    c.connect();
    await waitFor(() => lists === DEFAULTS.maxWatches + DEFAULTS.maxQueue, 15_000, 'every reply');
    expect(closes).toEqual([]);
    expect(errors).toEqual([]);
    expect(server.hub.stats().watches).toBe(DEFAULTS.maxWatches);
  });

  it('a flood is answered up to the burst, then closed with 4429; another connection keeps working', async () => {
    const server = await serve();
    const other = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(() => other.close());
    const flood = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(() => flood.close());
    const sent = 2 * DEFAULTS.rateLimit.burst;
    for (let i = 0; i < sent; i++) flood.send('{"handler":"ping"}');
    expect(await flood.closed(10_000)).toEqual({ code: 4429, reason: 'rate limited' });
    const pongs = flood.frames.filter((f) => f.handler === 'pong').length;
    // Every message within the burst was answered; the refill during the flood is at most a few tokens.
    expect(pongs).toBeGreaterThanOrEqual(DEFAULTS.rateLimit.burst);
    expect(pongs).toBeLessThan(sent);
    expect((await other.request({ handler: 'query', params: { type: 'switch' } }, 'list')).items.length).toBeGreaterThan(0);
  });
});
