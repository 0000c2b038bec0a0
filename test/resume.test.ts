/**
 * Resume end to end on the embedded backend: a raw WebSocket client against a real server watches, keeps its last
 * position, goes away while records change, and comes back with that position — and gets only what it missed, then
 * `resumed`, with no snapshot read. A restarted server (another epoch) and a position it cannot use get a full
 * `list`; a quiet watch's `progress` keeps its position current; the 1.x dialect sees none of it.
 */
import WebSocket from 'isomorphic-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection } from '../client/index.js';
import type { ServerMessage } from '../protocol/index.js';
import { createServer, type MonorailServer, type ServerOptions } from '../server/index.js';
import { RawClient } from './support/raw-client.js';
import { byId } from './support/records.js';
import { waitFor } from './support/wait.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const node = (id: string, type: string, extra: object = {}) => ({ id, type, name: `node ${id}`, ...extra });

async function serve(options: ServerOptions = {}): Promise<MonorailServer> {
  const server = await createServer({
    port: 0,
    seed: { nodes: [node('n1', 'compute'), node('n2', 'compute'), node('n3', 'switch')] },
    resume: true,
    ...options,
  });
  cleanup.push(() => server.close());
  return server;
}

async function connect(url: string, init: object = { handler: 'init' }): Promise<RawClient> {
  const client = await RawClient.connect(url);
  cleanup.push(() => client.close());
  client.send(init);
  await client.next('session');
  return client;
}

const positionOf = (f: ServerMessage) => (f as { position?: string }).position;
const summary = (frames: ServerMessage[]) => frames.map((f) => `${f.handler}${'id' in f && f.id !== undefined ? ` ${f.id}` : ''}`);

describe('resume on the embedded backend', () => {
  it('a client that comes back with its last position gets only the changes it missed, then resumed, and no read', async () => {
    const server = await serve();
    const a = await connect(`${server.url}/nodes`);
    a.send({ handler: 'watch', params: { type: 'compute' } });
    const list = await a.next('list');
    expect(list.items.map((i) => i.id)).toEqual(['n1', 'n2']);
    server.backend!.upsert('nodes', node('n4', 'compute'));
    const item = await a.next('item');
    const position = positionOf(item)!;
    expect(position).toMatch(/^[0-9a-z]+\.\d+$/);
    a.close();
    await a.closed();

    // While it is away: one created, one that left the watch, one deleted, one that never concerned it.
    server.backend!.upsert('nodes', node('n5', 'compute'));
    server.backend!.upsert('nodes', node('n1', 'switch'));
    server.backend!.remove('nodes', 'n2');
    server.backend!.upsert('nodes', node('n6', 'switch'));
    const reads = server.hub.stats().sourceReads;

    const b = await connect(`${server.url}/nodes`);
    b.send({ handler: 'watch', params: { type: 'compute' }, position });
    const frames = await b.drain();
    expect(summary(frames)).toEqual(['item n5', 'remove n1', 'remove n2', 'resumed']);
    expect(frames.at(-1)).toMatchObject({ handler: 'resumed', resource: 'nodes', params: { type: 'compute' } });
    expect(server.hub.stats()).toMatchObject({ sourceReads: reads, resumes: 1, resumesRefused: 0 });
    // And it is live again.
    server.backend!.upsert('nodes', node('n7', 'compute'));
    expect(summary(await b.drain())).toEqual(['item n7']);
  });

  it('a server restarted (another epoch), and positions it cannot use, get a full list — never an error', async () => {
    const first = await serve();
    const a = await connect(`${first.url}/nodes`);
    a.send({ handler: 'watch', params: { type: 'compute' } });
    const position = positionOf(await a.next('list'))!;
    a.close();
    await first.close();

    const second = await serve({ port: first.port });
    for (const bad of [position, 'garbage', 17, `${position.split('.')[0]}.999999`]) {
      const b = await connect(`${second.url}/nodes`);
      b.send({ handler: 'watch', params: { type: 'compute' }, position: bad });
      // A snapshot read answers on a later tick: the first frame, whatever came, must be the list.
      expect((await b.next()).handler).toBe('list');
    }
  });

  it('announces resume, sends progress to a quiet watch of a client that asked, and that position resumes', async () => {
    const server = await serve({ resume: { progressIntervalMs: 20 } });
    const a = await connect(`${server.url}/nodes`, { handler: 'init', features: ['resume'] });
    a.send({ handler: 'watch', params: { type: 'switch' } });
    await a.next('list');
    server.backend!.upsert('nodes', node('n8', 'compute')); // moves the head, concerns nobody here
    const progress = await a.next('progress');
    a.close();
    server.backend!.upsert('nodes', node('n9', 'switch'));
    const b = await connect(`${server.url}/nodes`);
    b.send({ handler: 'watch', params: { type: 'switch' }, position: progress.position });
    expect(summary(await b.drain())).toEqual(['item n9', 'resumed']);
  });

  it('the session announces resume only when it is on; the 1.x dialect gets no positions', async () => {
    const off = await createServer({ port: 0, seed: { nodes: [node('n1', 'compute')] } });
    cleanup.push(() => off.close());
    const plain = await RawClient.connect(`${off.url}/nodes`);
    cleanup.push(() => plain.close());
    expect(await plain.request({ handler: 'init' }, 'session')).toMatchObject({ features: ['ping'] });

    const server = await serve();
    const s = await RawClient.connect(`${server.url}/nodes`);
    cleanup.push(() => s.close());
    expect(await s.request({ handler: 'init' }, 'session')).toMatchObject({ features: ['ping', 'resume'] });
    const legacy = await RawClient.connect(`${server.url}/rackhd/nodes`);
    cleanup.push(() => legacy.close());
    legacy.send({ handler: 'watch' });
    await waitFor(() => server.hub.stats().watches === 1, undefined, 'the 1.x watch');
    server.backend!.upsert('nodes', node('n4', 'compute'));
    const frame = await legacy.next('item');
    expect(positionOf(frame)).toBeUndefined();
  });

  it('the client SDK resumes by itself: a dropped connection comes back with its positions, its live view ready via resume, its store equal to the server’s', async () => {
    const server = await serve();
    const c = new Connection(`${server.url}/nodes`, { WebSocket, backoff: { baseMs: 5, maxMs: 20 }, heartbeat: false });
    cleanup.push(() => c.disconnect());
    const view = c.live({ type: 'compute' });
    await waitFor(() => view.getSnapshot().status === 'ready', undefined, 'the view to be ready');
    expect(view.getSnapshot().via).toBe('list');
    server.backend!.upsert('nodes', node('n4', 'compute'));
    await waitFor(() => view.getSnapshot().data.length === 3, undefined, 'n4 to arrive');
    const reads = server.hub.stats().sourceReads;

    // The server drops it (as a restarting proxy would); changes happen before it is back.
    const reopened = new Promise((resolve) => c.events.once('resumed', resolve));
    for (const conn of server.hub.connections.values()) conn.close(1012, 'dropped by the test');
    server.backend!.upsert('nodes', node('n5', 'compute'));
    server.backend!.upsert('nodes', node('n1', 'switch'));
    await reopened;
    await waitFor(() => view.getSnapshot().status === 'ready', undefined, 'the view to be ready again');
    expect(view.getSnapshot().via).toBe('resume');
    expect(byId([...view.getSnapshot().data])).toEqual(byId(server.backend!.read('nodes', { type: 'compute' }, 100)));
    expect(server.hub.stats()).toMatchObject({ sourceReads: reads, resumes: 1 });
  });
});
