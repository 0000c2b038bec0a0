/**
 * Which backend the page talks to: the in-page mock (default; no server needed) or a real server URL, from
 * `?backend=mock` / `?backend=ws://127.0.0.1:9100`. The client code is the same for both: only the WebSocket
 * implementation and the base URL differ.
 */
import type { WebSocketConstructor } from '../../client/index.js';
// The mock's public entry (`monorail-ws/mock`), as an app imports it: the demo simulator comes from there too.
import { createMockServer, startDemo, type MockServer } from '../../mock/index.js';

/** The chosen backend. */
export interface Backend {
  kind: 'mock' | 'server';
  /** Base URL (`ws://host:port`); channels are `<url>/<channel>`. */
  url: string;
  /** Undefined: the browser's WebSocket. */
  WebSocket?: WebSocketConstructor;
  /** The in-page mock and its control API, in mock mode. */
  mock?: MockServer;
}

/** The mock's (fictional) address; mock sockets never touch the network. */
export const MOCK_URL = 'ws://mock.monorail.local';

/** Reads the query string: `backend` (mock | ws URL), `latency` (mock delay, ms), `demo` (simulate activity). */
export function chooseBackend(search: URLSearchParams): Backend {
  const choice = search.get('backend') ?? 'mock';
  if (choice !== 'mock' && /^wss?:\/\//.test(choice)) return { kind: 'server', url: choice.replace(/\/+$/, '') };
  const latencyMs = Number(search.get('latency') ?? 0);
  const mock = createMockServer({ url: MOCK_URL, latencyMs: Number.isFinite(latencyMs) ? latencyMs : 0, resume: true });
  if (search.get('demo') === '1') startDemo(mock.backend, { intervalMs: Number(search.get('interval') ?? 1000) });
  return { kind: 'mock', url: mock.url, WebSocket: mock.WebSocket, mock };
}
