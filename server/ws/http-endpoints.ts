/**
 * The plain HTTP requests a monorail-ws port answers (everything else on it is a WebSocket upgrade):
 *
 * - `GET /healthz`: `{"ok":true}` and nothing more, to anyone — a load balancer's probe needs no credentials, and
 *   so it must not learn anything (how many clients are connected is for `/debug/stats`).
 * - `GET /debug/stats` (only with `debugStats`): memory and counters (`debug-stats.ts`). With `authenticate` set,
 *   the request must pass it like an upgrade (`Authorization: Bearer <token>`): 401 when refused, 503 when it
 *   throws or does not settle within `authenticateTimeoutMs`.
 * - anything else: 426, naming the WebSocket URL to use.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateRequest } from '../security/admission.js';
import type { Authenticate } from '../security/auth.js';
import { debugStats, type TransportStats } from './debug-stats.js';
import type { Hub } from '../hub/hub.js';
import type { Logger } from '../hub/logger.js';

/** What the endpoints read. */
export interface HttpEndpointsDeps {
  hub: Hub;
  config: {
    readonly debugStats: boolean;
    readonly authenticate: Authenticate | undefined;
    readonly authenticateTimeoutMs: number;
  };
  logger: Logger;
  /** The transport's counters, for `/debug/stats`. */
  stats(): TransportStats;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const TEXT_TYPE = { 'content-type': 'text/plain' };

/** The HTTP server's `request` listener. */
export function httpEndpoints(deps: HttpEndpointsDeps): (request: IncomingMessage, response: ServerResponse) => void {
  const { config } = deps;

  const serveStats = async (request: IncomingMessage, response: ServerResponse, query: string): Promise<void> => {
    if (config.authenticate) {
      const result = await authenticateRequest(config.authenticate, request, config.authenticateTimeoutMs, deps.logger);
      if (result === 'refused') {
        response.writeHead(401, { ...TEXT_TYPE, 'www-authenticate': 'Bearer' });
        response.end('unauthenticated\n');
        return;
      }
      if (result === 'unavailable') {
        response.writeHead(503, TEXT_TYPE);
        response.end('authentication unavailable\n');
        return;
      }
    }
    const collect = new URLSearchParams(query).get('gc') === '1';
    // Built before the status is set: a failure here must still be able to answer 500.
    const body = JSON.stringify(debugStats(deps.hub, deps.stats(), collect));
    response.writeHead(200, JSON_TYPE);
    response.end(body);
  };

  return (request, response) => {
    const url = request.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path === '/healthz') {
      response.writeHead(200, JSON_TYPE);
      response.end('{"ok":true}');
      return;
    }
    if (config.debugStats && path === '/debug/stats') {
      // The response may already be gone (the client left while authenticate ran): nothing to answer then.
      serveStats(request, response, q < 0 ? '' : url.slice(q + 1)).catch((err: unknown) => {
        deps.logger.error('/debug/stats failed', { err });
        if (!response.headersSent) response.writeHead(500, TEXT_TYPE);
        response.end('debug stats failed\n');
      });
      return;
    }
    response.writeHead(426, TEXT_TYPE);
    response.end('monorail-ws: connect with a WebSocket to ws://host:port/<channel>\n');
  };
}
