/**
 * The playground's React page (`/react.html`): the nodes channel through `monorail-ws/react` — a filtered `useLive`
 * and `useConnectionState` — on the same backends as the main page (`?backend=mock`, the default, or a ws:// URL).
 * The client is made once per page load, kept across hot updates by `hotKeep`, and shared by `MonorailProvider`.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createClient, hotKeep } from '../../../client/index.js';
import { MonorailProvider } from '../../../react/index.js';
import { chooseBackend } from '../backend.js';
import { App } from './app.js';

const search = new URLSearchParams(location.search);
const { backend, client } = hotKeep(import.meta.hot, 'client', () => {
  const backend = chooseBackend(search);
  // `?maxBackoff=1000` caps the reconnect delay, as on the main page (e2e runs use it).
  const maxBackoff = Number(search.get('maxBackoff'));
  const client = createClient({
    url: backend.url,
    channels: ['nodes'],
    ...(backend.WebSocket ? { WebSocket: backend.WebSocket } : {}),
    ...(maxBackoff > 0 ? { backoff: { maxMs: maxBackoff } } : {}),
  });
  return { backend, client };
});

if (import.meta.env.DEV) {
  // The e2e specs drive the mock through this handle, as on the main page.
  (window as unknown as { __monorail: unknown }).__monorail = { backend, mock: backend.mock, client };
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MonorailProvider client={client}>
      <App backend={backend.kind === 'mock' ? 'in-page mock' : backend.url} />
    </MonorailProvider>
  </StrictMode>,
);
