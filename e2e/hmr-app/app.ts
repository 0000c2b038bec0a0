/// <reference types="vite/client" />
/**
 * The fixture of e2e/hmr.spec.ts: a module that creates a mock and a client at module scope, as an app does, and
 * accepts its own hot updates, as a framework's fast refresh makes a component module do. The spec copies this
 * folder, serves the copy with Vite's dev server, and rewrites `EDIT` three times.
 *
 * `?backend=mock` (default) or a ws:// URL; `?keep=no` creates without `hotKeep`, to show what it prevents.
 */
import { createClient, hotKeep } from '../../client/index.js';
import { createMockServer } from '../../mock/index.js';

const EDIT = 0;

interface HmrWindow {
  __hmr?: { runs: number; connections?: () => number };
}
const w = window as unknown as HmrWindow;
const state = (w.__hmr ??= { runs: 0 });
state.runs++;

const search = new URLSearchParams(location.search);
const backend = search.get('backend') ?? 'mock';
const hot = search.get('keep') === 'no' ? undefined : import.meta.hot;
const $ = (id: string): HTMLElement => document.getElementById(id)!;

const mock = backend === 'mock' ? hotKeep(hot, 'mock', () => createMockServer({ url: 'ws://hmr.mock.local' })) : undefined;
const client = hotKeep(hot, 'client', () => {
  const c = createClient({
    url: mock?.url ?? backend,
    channels: ['nodes', 'workflows', 'logs'],
    ...(mock ? { WebSocket: mock.WebSocket } : {}),
  });
  c.channels.nodes.watch({});
  return c;
});
if (mock) state.connections = () => mock.hub.stats().connections;

// What this run subscribes to, it releases before the next run: a kept client outlives the listeners of each run.
const { nodes } = client.channels;
const show = (): void => {
  $('state').textContent = nodes.state;
  $('size').textContent = String(nodes.store.size);
};
const offState = nodes.events.on('state', show);
const offStore = nodes.store.subscribe(show);
show();
import.meta.hot?.dispose(() => {
  offState();
  offStore();
});

// `edit` shows once every channel of the client this run holds has a session: a socket this run opened is then
// counted by the server, so the spec reads the count right after.
let waiting = Object.keys(client.channels).length;
for (const connection of Object.values(client.channels)) {
  connection.init(() => {
    if (--waiting === 0) {
      $('edit').textContent = String(EDIT);
      $('runs').textContent = String(state.runs);
    }
  });
}

import.meta.hot?.accept();
