/**
 * The playground: every channel live, built on the client SDK's live queries — each pane shows one query's records
 * and status, and moves it with `setParams` when its filter or the selection changes. Opens on the in-page mock;
 * `?backend=ws://127.0.0.1:9100` points it at a real server.
 *
 * The client, the mock and the frame log are made once per page load and kept across hot updates (`hotKeep`); the
 * panes are not: each run of this module mounts them in a `Lifetime`, which Vite's `dispose` ends before the next run,
 * so editing the playground under `vite` closes the old run's live queries and opens no socket (docs/client.md
 * "Hot reload").
 */
import { createClient, hotKeep } from '../../client/index.js';
import { chooseBackend } from './backend.js';
import { FrameLog, inspecting, inspectorView } from './inspector.js';
import { Lifetime } from './live.js';
import { SelectionState } from './state.js';
import { catalogsView } from './views/catalogs.js';
import { connectionsView } from './views/connections.js';
import { logsView } from './views/logs.js';
import { mqView } from './views/mq.js';
import { nodesView } from './views/nodes.js';
import { resourcesView } from './views/resources.js';
import { skusView } from './views/skus.js';
import { workflowsView } from './views/workflows.js';

const $ = (id: string): HTMLElement => document.getElementById(id)!;

const { backend, client, frames } = hotKeep(import.meta.hot, 'playground', () => {
  const search = new URLSearchParams(location.search);
  const backend = chooseBackend(search);
  const frames = new FrameLog(300);
  // `?maxBackoff=2000` caps the reconnect delay (handy while restarting a server by hand, and in e2e runs).
  const maxBackoff = Number(search.get('maxBackoff'));
  const client = createClient({
    url: backend.url,
    channels: [
      'nodes',
      'workflows',
      'skus',
      'catalogs',
      'logs',
      'graphdefinitions',
      'taskdefinitions',
      'templates',
      'profiles',
      'files',
      'lookups',
      'mq',
    ],
    // The inspector sits between the SDK and whichever WebSocket the backend uses; nothing global is patched.
    WebSocket: inspecting(backend.WebSocket ?? WebSocket, frames),
    ...(maxBackoff > 0 ? { backoff: { maxMs: maxBackoff } } : {}),
  });
  return { backend, client, frames };
});
// Kept too, so that a hot update keeps what the user selected.
const selection = hotKeep(import.meta.hot, 'selection', () => new SelectionState());

const life = new Lifetime();
const { nodes, workflows, skus, catalogs, logs, mq } = client.channels;
// Every node and every SKU, for the panes that resolve names and count; the nodes pane's own query shares the
// first one's server watch while its filter is "all" (identical live queries share one watch).
const allNodes = life.live(nodes, {});
const allSkus = life.live(skus, {});

connectionsView($('connections'), $('backend'), backend, client, life);
nodesView($('nodes'), nodes, allSkus, selection, life);
workflowsView($('workflows'), workflows, allNodes, selection, life);
skusView($('skus'), allSkus, allNodes, life);
catalogsView($('catalogs'), catalogs, selection, life);
logsView($('logs'), logs, selection, life);
resourcesView($('resources'), client.channels, life);
mqView($('mq'), mq, life);
inspectorView($('inspector'), frames, life);

// A compute node selected by default, so the workflows, catalogs and logs panes have something to show on first open.
const pickFirst = (): void => {
  if (selection.value.nodeId) return;
  const node = allNodes.getSnapshot().data.find((n) => n.type === 'compute');
  if (node) selection.set({ nodeId: node.id });
};
life.subscribe(allNodes, pickFirst);
pickFirst();

if (import.meta.hot) {
  import.meta.hot.accept();
  import.meta.hot.dispose(() => life.dispose());
}

if (import.meta.env.DEV) {
  // The e2e specs drive the mock and read state through this handle; production builds leave it out.
  (window as unknown as { __monorail: unknown }).__monorail = { backend, mock: backend.mock, client, frames, selection };
}
