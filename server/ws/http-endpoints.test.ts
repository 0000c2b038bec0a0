/**
 * The plain HTTP endpoints on a real HTTP server, with a hub stand-in: what `/healthz` says, `/debug/stats` with
 * and without `authenticate`, `?gc=1`, and a failure while building the stats (500, logged, the server goes on).
 * Through `createServer`: server/server.test.ts.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DebugStats, TransportStats } from './debug-stats.js';
import { httpEndpoints, type HttpEndpointsDeps } from './http-endpoints.js';
import type { Hub, HubStats } from '../hub/hub.js';
import { silentLogger, type Logger } from '../hub/logger.js';

const HUB_STATS: HubStats = {
  connections: 2,
  watches: 3,
  watchBytes: 3_000,
  sourceReads: 4,
  coalescedReads: 0,
  changes: 5,
  resumes: 0,
  resumesRefused: 0,
};
const TRANSPORT_STATS: TransportStats = {
  pendingUpgrades: 1,
  refusedSockets: 0,
  refusedConnections: 0,
  queuedBytes: 10,
  budgetScans: 0,
  closedOverBudget: 0,
  webSockets: 2,
  unfinishedMessages: 0,
};

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function serve(
  config: Partial<HttpEndpointsDeps['config']>,
  hub: Pick<Hub, 'stats'>,
  logger: Logger = silentLogger,
): Promise<string> {
  const deps: HttpEndpointsDeps = {
    hub: hub as Hub,
    config: { debugStats: true, authenticate: undefined, authenticateTimeoutMs: 1000, ...config },
    logger,
    stats: () => TRANSPORT_STATS,
  };
  const server = createHttpServer(httpEndpoints(deps));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('http endpoints', () => {
  it('/healthz is {"ok":true} to anyone, even with authenticate; anything else is 426', async () => {
    const base = await serve({ authenticate: () => null }, { stats: () => HUB_STATS });
    const health = await fetch(`${base}/healthz?verbose=1`);
    expect([health.status, await health.text()]).toEqual([200, '{"ok":true}']);
    expect((await fetch(`${base}/nodes`)).status).toBe(426);
    expect((await fetch(`${base}/debug/statsx`)).status).toBe(426);
  });

  it('/debug/stats without authenticate: hub and transport counters, memory, prototypes; gc only when asked and exposed', async () => {
    const base = await serve({}, { stats: () => HUB_STATS });
    const body = (await (await fetch(`${base}/debug/stats?gc=1`)).json()) as DebugStats;
    expect(body).toMatchObject({
      hub: HUB_STATS,
      transport: TRANSPORT_STATS,
      gc: typeof (globalThis as { gc?: unknown }).gc === 'function',
    });
    expect(body.prototypes.Object).toContain('hasOwnProperty');
  });

  it('/debug/stats passes the request to authenticate: a principal gets the stats, a refusal 401 with WWW-Authenticate', async () => {
    const seen: string[] = [];
    const base = await serve(
      {
        authenticate: (req) => {
          seen.push(req.headers.authorization ?? '');
          return req.headers.authorization === 'Bearer op' ? 'op' : false;
        },
      },
      { stats: () => HUB_STATS },
    );
    const refused = await fetch(`${base}/debug/stats`);
    expect([refused.status, refused.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
    expect((await fetch(`${base}/debug/stats`, { headers: { authorization: 'Bearer op' } })).status).toBe(200);
    expect(seen).toEqual(['', 'Bearer op']);
  });

  it('a failure while building the stats is a 500 and a logged error; the server answers the next request', async () => {
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (m) => errors.push(m) };
    let fail = true;
    const hub = {
      stats: () => {
        if (fail) throw new Error('broken counter');
        return HUB_STATS;
      },
    };
    const base = await serve({ authenticate: () => 'op' }, hub, logger);
    expect((await fetch(`${base}/debug/stats`)).status).toBe(500);
    expect(errors).toEqual(['/debug/stats failed']);
    fail = false;
    expect((await fetch(`${base}/debug/stats`)).status).toBe(200);
  });
});
