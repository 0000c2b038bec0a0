/**
 * Who gets in, against the real server over real sockets: authentication (4401), channel authorization at the
 * upgrade (4403) and per request (`forbidden`), the Origin allowlist (1008), connections per address (1013), and
 * the safe zero-config defaults. The client SDK's token refresh and its stop-on-4401/4403 are checked against the
 * same real server.
 */
import { spawnSync } from 'node:child_process';
import WebSocket from 'isomorphic-ws';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, type ConnectionOptions } from '../client/index.js';
import {
  bearerVerifier,
  createServer,
  jwtVerifier,
  lineLogger,
  type Logger,
  type MonorailServer,
  type ServerOptions,
} from '../server/index.js';
import { demoFixtures } from '../server/demo/fixtures.js';
import { RawClient } from './support/raw-client.js';
import { waitFor } from './support/wait.js';
import { startServer } from './support/processes.js';

const SECRET = 'monorail-test-secret-0123456789abcdef';
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serve(options: ServerOptions = {}): Promise<MonorailServer> {
  const server = await createServer({ port: 0, seed: demoFixtures(), ...options });
  cleanup.push(() => server.close());
  return server;
}

async function raw(url: string, protocols?: string[], options?: WebSocket.ClientOptions): Promise<RawClient> {
  const client = await RawClient.connect(url, protocols, options);
  cleanup.push(() => client.close());
  return client;
}

function connection(url: string, options: ConnectionOptions = {}): Connection {
  const c = new Connection(url, { WebSocket, backoff: { baseMs: 5, maxMs: 50 }, heartbeat: false, ...options });
  cleanup.push(() => c.disconnect());
  return c;
}

function token(claims: Record<string, unknown>, exp = '5m'): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(SECRET));
}

/** Counts the connections that reach the hub (refused ones never do). */
function hubConnections(server: MonorailServer): { count: number } {
  const seen = { count: 0 };
  server.on('connection', () => seen.count++);
  return seen;
}

describe('authentication at the upgrade', () => {
  it('a connection without a token is accepted and at once closed with 4401; nothing it sends is read and nothing is sent to it', async () => {
    let calls = 0;
    const server = await serve({
      authenticate: (req) => {
        calls++;
        return jwtVerifier({ secret: SECRET })(req);
      },
    });
    const reached = hubConnections(server);
    const ws = new WebSocket(`${server.url}/nodes`);
    const frames: unknown[] = [];
    ws.on('message', (d) => frames.push(String(d)));
    ws.on('open', () => ws.send(JSON.stringify({ handler: 'watch', params: {} })));
    const closed = await new Promise<{ code: number; reason: string }>((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
    );
    expect(closed).toEqual({ code: 4401, reason: 'unauthenticated' });
    expect(frames).toEqual([]);
    expect(reached.count).toBe(0);
    expect(calls).toBe(1);
    expect(server.hub.stats()).toMatchObject({ connections: 0, watches: 0, sourceReads: 0 });
  });

  it('a valid JWT in the bearer subprotocol gets in; the principal reaches authorize; the token is never echoed', async () => {
    const principals: unknown[] = [];
    const server = await serve({
      authenticate: jwtVerifier({ secret: SECRET }),
      authorize: (principal, _channel, handler) => {
        principals.push([handler, (principal as { sub: string }).sub]);
        return true;
      },
    });
    const jwt = await token({ sub: 'operator' });
    const c = await raw(`${server.url}/nodes`, ['monorail-ws', `bearer.${jwt}`]);
    expect(c.ws.protocol).toBe('monorail-ws');
    expect((await c.request({ handler: 'query', params: { type: 'switch' } }, 'list')).items.length).toBeGreaterThan(0);
    expect(principals).toEqual([
      ['connect', 'operator'],
      ['query', 'operator'],
    ]);
  });

  it('Node clients may send Authorization: Bearer instead', async () => {
    const server = await serve({ authenticate: jwtVerifier({ secret: SECRET }) });
    const c = await raw(`${server.url}/nodes`, undefined, { headers: { authorization: `Bearer ${await token({ sub: 'cli' })}` } });
    expect((await c.request({ handler: 'init' })).handler).toBe('session');
  });

  it('expired and wrongly signed tokens get 4401', async () => {
    const server = await serve({ authenticate: jwtVerifier({ secret: SECRET }) });
    const expired = await token({ sub: 'x' }, '-1m');
    const forged = await new SignJWT({ sub: 'x' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('x'.repeat(40)));
    for (const t of [expired, forged, 'garbage']) {
      const c = await raw(`${server.url}/nodes`, ['monorail-ws', `bearer.${t}`]);
      expect((await c.closed()).code).toBe(4401);
    }
  });

  it('an authenticate that throws or never settles closes with 1011 (the client retries: its identity provider may be back)', async () => {
    const throwing = await serve({
      authenticate: () => {
        throw new Error('LDAP down');
      },
    });
    expect((await (await raw(`${throwing.url}/nodes`)).closed()).code).toBe(1011);
    const hanging = await serve({ authenticate: () => new Promise(() => undefined), authenticateTimeoutMs: 20 });
    expect((await (await raw(`${hanging.url}/nodes`)).closed()).code).toBe(1011);
  });

  it('a bearer token checked by a callback (RackHD-style)', async () => {
    const server = await serve({ authenticate: bearerVerifier((t) => (t === 'rackhd-token' ? { user: 'admin' } : null)) });
    expect((await (await raw(`${server.url}/nodes`, ['monorail-ws', 'bearer.wrong'])).closed()).code).toBe(4401);
    const ok = await raw(`${server.url}/nodes`, ['monorail-ws', 'bearer.rackhd-token']);
    expect((await ok.request({ handler: 'init' })).handler).toBe('session');
  });
});

describe('tokens never reach the logs', () => {
  it('a refused connection with ?token=, access_token=, a bearer subprotocol or an Authorization header logs no secret (regression: the query string was logged verbatim)', async () => {
    const lines: string[] = [];
    const server = await serve({ authenticate: () => null, logger: lineLogger((line) => lines.push(line), 'debug') });
    const urls = [
      `${server.url}/nodes?token=SECRET-QUERY`,
      `${server.url}/nodes?x=1&access_token=SECRET-ACCESS&client_secret=SECRET-CLIENT`,
    ];
    for (const url of urls) expect((await (await raw(url)).closed()).code).toBe(4401);
    expect((await (await raw(`${server.url}/nodes`, ['monorail-ws', 'bearer.SECRET-PROTOCOL'])).closed()).code).toBe(4401);
    expect(
      (await (await raw(`${server.url}/nodes`, undefined, { headers: { authorization: 'Bearer SECRET-HEADER' } })).closed()).code,
    ).toBe(4401);
    expect(lines.filter((l) => l.includes('connection refused'))).toHaveLength(4);
    expect(lines.filter((l) => l.includes('SECRET'))).toEqual([]);
    // The path is still there to tell refusals apart, with the parameter names.
    expect(lines.some((l) => l.includes('/nodes?token=***'))).toBe(true);
  });
});

describe('the client SDK against an authenticating server', () => {
  it('re-evaluates its token function on every reconnect (token refresh), and the server sees the new token', async () => {
    const valid = new Set(['t1']);
    const seen: string[] = [];
    const server = await serve({
      authenticate: bearerVerifier((t) => {
        seen.push(t);
        return valid.has(t) ? { token: t } : null;
      }),
    });
    let n = 0;
    const c = connection(`${server.url}/nodes`, { token: async () => `t${++n}` });
    c.watch({ type: 'compute' });
    await waitFor(() => c.store.size > 0);
    // t1 expires and t2 is issued; the server drops the connection (a restart, a deploy).
    valid.clear();
    valid.add('t2');
    const first = c.sessionId;
    for (const conn of server.hub.connections.values()) conn.close(1001, 'restart');
    await waitFor(() => c.sessionId !== undefined && c.sessionId !== first && server.hub.stats().watches === 1, 5000, 'reconnect with t2');
    expect(seen).toEqual(['t1', 't2']);
    expect(c.state).toBe('open');
  });

  it('after 4401 the client stops retrying until connect() is called, then gets in with a fresh token', async () => {
    let valid = 'good';
    const server = await serve({ authenticate: bearerVerifier((t) => (t === valid ? 'user' : null)) });
    let current = 'stale';
    const c = connection(`${server.url}/nodes`, { token: () => current });
    const closes: number[] = [];
    const reconnecting: unknown[] = [];
    c.events.on('close', (e) => closes.push(e.code));
    c.events.on('reconnecting', (r) => reconnecting.push(r));
    await waitFor(() => closes.length === 1);
    expect(closes).toEqual([4401]);
    expect(c.state).toBe('closed');
    expect(reconnecting).toEqual([]);
    current = valid;
    c.connect();
    const id = await new Promise<string>((resolve) => c.init(resolve));
    expect(server.hub.connections.has(id)).toBe(true);
    valid = 'rotated';
  });
});

describe('authorization', () => {
  it('authorize(principal, channel, "connect", {}) refusing the URL channel closes with 4403, and the client stops retrying', async () => {
    const server = await serve({
      authenticate: bearerVerifier((t) => ({ role: t })),
      authorize: (p, channel) => channel !== 'logs' || (p as { role: string }).role === 'admin',
    });
    const reached = hubConnections(server);
    const c = connection(`${server.url}/logs`, { token: 'viewer' });
    const closes: number[] = [];
    c.events.on('close', (e) => closes.push(e.code));
    await waitFor(() => closes.length === 1);
    expect(closes).toEqual([4403]);
    expect(c.state).toBe('closed');
    expect(reached.count).toBe(0);
    const admin = await raw(`${server.url}/logs`, ['monorail-ws', 'bearer.admin']);
    expect((await admin.request({ handler: 'init' })).handler).toBe('session');
  });

  it('the alias graphObjs is authorized as workflows', async () => {
    const server = await serve({ authorize: (_p, channel) => channel !== 'workflows' });
    expect((await (await raw(`${server.url}/graphObjs`)).closed()).code).toBe(4403);
  });

  it('a refused watch or a resource on another channel is a forbidden error; the connection keeps serving', async () => {
    const server = await serve({
      authorize: (_p, channel, handler, params) => channel !== 'catalogs' && !(handler === 'watch' && 'secret' in params),
    });
    const c = await raw(`${server.url}/nodes`);
    expect(await c.request({ handler: 'all', resource: 'catalogs' })).toMatchObject({
      handler: 'error',
      resource: 'catalogs',
      params: { code: 'forbidden', request: { handler: 'all', resource: 'catalogs' } },
    });
    expect(await c.request({ handler: 'watch', params: { secret: true } })).toMatchObject({ params: { code: 'forbidden' } });
    expect(server.hub.stats().watches).toBe(0);
    expect((await c.request({ handler: 'watch', params: { type: 'switch' } }, 'list')).items.length).toBeGreaterThan(0);
  });

  it('an unknown channel in the URL is let in (each request then gets unknown-channel)', async () => {
    const server = await serve({ authorize: () => false });
    const c = await raw(`${server.url}/bogus`);
    expect(await c.request({ handler: 'all' })).toMatchObject({ params: { code: 'unknown-channel' } });
  });
});

describe('Origin allowlist', () => {
  it('the default on 127.0.0.1 admits local pages and clients without Origin, and closes other origins with 1008 right after the upgrade', async () => {
    const server = await serve();
    const reached = hubConnections(server);
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:9100', 'https://[::1]:8443']) {
      const c = await raw(`${server.url}/nodes`, undefined, { origin });
      expect((await c.request({ handler: 'init' })).handler).toBe('session');
    }
    expect((await (await raw(`${server.url}/nodes`)).request({ handler: 'init' })).handler).toBe('session');
    const evil = await raw(`${server.url}/nodes`, undefined, { origin: 'https://evil.example.net' });
    expect(await evil.closed()).toEqual({ code: 1008, reason: 'origin not allowed' });
    expect(evil.frames).toEqual([]);
    expect(reached.count).toBe(4);
  });

  it('an origins list replaces the default', async () => {
    const server = await serve({ origins: ['https://rackhd.example.com', 'https://*.lab.example.com'] });
    const ok = await raw(`${server.url}/nodes`, undefined, { origin: 'https://ui.lab.example.com' });
    expect((await ok.request({ handler: 'init' })).handler).toBe('session');
    expect((await (await raw(`${server.url}/nodes`, undefined, { origin: 'http://localhost:5173' })).closed()).code).toBe(1008);
  });

  it('origin is checked before authentication: a hijacking page does not even get its token checked', async () => {
    let calls = 0;
    const server = await serve({
      authenticate: () => {
        calls++;
        return 'user';
      },
    });
    expect(
      (await (await raw(`${server.url}/nodes`, ['monorail-ws', 'bearer.x'], { origin: 'https://evil.example.net' })).closed()).code,
    ).toBe(1008);
    expect(calls).toBe(0);
  });
});

describe('safe by default', () => {
  it('refuses to listen on another host without origins, saying what to pass', async () => {
    await expect(createServer({ port: 0, host: '0.0.0.0' })).rejects.toThrow(/without an Origin allowlist.*--origin.*--any-origin/s);
  });

  it('on another host with origins but without authenticate it warns through the logger, or through process warnings without one', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) };
    const logged = await createServer({ port: 0, host: '0.0.0.0', origins: ['https://ui.example.com'], logger });
    cleanup.push(() => logged.close());
    expect(warnings).toEqual([expect.stringContaining('without authentication')]);

    const emitted = new Promise<Error>((resolve) => process.once('warning', resolve));
    const silent = await createServer({ port: 0, host: '0.0.0.0', anyOrigin: true });
    cleanup.push(() => silent.close());
    expect((await emitted).message).toContain('without authentication');
  });

  it('does not warn on loopback or with authenticate', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) };
    await serve({ logger });
    await serve({ logger, host: '0.0.0.0', origins: ['https://ui.example.com'], authenticate: jwtVerifier({ secret: SECRET }) });
    expect(warnings).toEqual([]);
  });
});

describe('connections per address', () => {
  it('is off by default', async () => {
    const server = await serve();
    for (let i = 0; i < 20; i++) await raw(`${server.url}/nodes`);
    expect(server.hub.connections.size).toBe(20);
  });

  it('beyond maxConnectionsPerIp a connection is closed with 1013; a slot frees when one closes', async () => {
    const server = await serve({ maxConnectionsPerIp: 2 });
    const a = await raw(`${server.url}/nodes`);
    await raw(`${server.url}/nodes`);
    const third = await raw(`${server.url}/nodes`);
    expect(await third.closed()).toEqual({ code: 1013, reason: 'too many connections from this address' });
    a.close();
    await waitFor(() => server.hub.connections.size === 1);
    const again = await raw(`${server.url}/nodes`);
    expect((await again.request({ handler: 'init' })).handler).toBe('session');
  });

  it('connections refused by authentication do not hold a slot', async () => {
    const server = await serve({ maxConnectionsPerIp: 1, authenticate: bearerVerifier((t) => (t === 'ok' ? 'u' : null)) });
    for (let i = 0; i < 3; i++) expect((await (await raw(`${server.url}/nodes`)).closed()).code).toBe(4401);
    const ok = await raw(`${server.url}/nodes`, ['monorail-ws', 'bearer.ok']);
    expect((await ok.request({ handler: 'init' })).handler).toBe('session');
  });
});

describe('the CLI', () => {
  it('refuses --host 0.0.0.0 without --origin or --any-origin, with the message and exit code 1', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/cli.ts', 'serve', '--port', '0', '--host', '0.0.0.0'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('refusing to listen on 0.0.0.0 without an Origin allowlist');
  });

  it('MONORAIL_JWT_SECRET makes every connection present a JWT; --origin sets the allowlist', async () => {
    const proc = await startServer(['--port', '0', '--origin', 'https://ui.example.com'], { MONORAIL_JWT_SECRET: SECRET });
    cleanup.push(() => proc.stop('SIGKILL'));
    expect((await (await raw(`${proc.url}/nodes`)).closed()).code).toBe(4401);
    const jwt = await token({ sub: 'ui' });
    expect(
      (await (await raw(`${proc.url}/nodes`, ['monorail-ws', `bearer.${jwt}`], { origin: 'http://localhost:5173' })).closed()).code,
    ).toBe(1008);
    const ok = await raw(`${proc.url}/nodes`, ['monorail-ws', `bearer.${jwt}`], { origin: 'https://ui.example.com' });
    expect((await ok.request({ handler: 'init' })).handler).toBe('session');
    expect(proc.output()).toContain('connection refused');
  });
});
