/**
 * The playground: every channel live, built only on the client SDK's stores. Opens on the in-page mock;
 * `?backend=ws://127.0.0.1:9100` points it at a real server.
 */
import { createClient } from '../../client/index.js';
import { chooseBackend } from './backend.js';
import { FrameLog, inspecting, inspectorView } from './inspector.js';
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
const selection = new SelectionState();

const { nodes, workflows, skus, catalogs, logs } = client.channels;
nodes.watch({});
workflows.watch({});
skus.watch({});

connectionsView($('connections'), $('backend'), backend, client);
nodesView($('nodes'), nodes, skus, selection);
workflowsView($('workflows'), workflows, nodes, selection);
skusView($('skus'), skus, nodes);
catalogsView($('catalogs'), catalogs, selection);
logsView($('logs'), logs, selection);
resourcesView($('resources'), client.channels);
mqView($('mq'), client.channels.mq);
inspectorView($('inspector'), frames);

// A node selected by default, so the catalogs and logs panes have something to show on first open.
const first = nodes.store.subscribe(() => {
  const node = nodes.store.getSnapshot().find((n) => n.type === 'compute');
  if (node && !selection.value.nodeId) selection.set({ nodeId: String(node.id) });
  if (selection.value.nodeId) first();
});

if (import.meta.env.DEV) {
  // The e2e specs drive the mock and read state through this handle; production builds leave it out.
  (window as unknown as { __monorail: unknown }).__monorail = { backend, mock: backend.mock, client, frames, selection };
}
