/**
 * Connection panel: backend chooser, per-channel state (connecting, open, reconnecting in N s, closed with
 * code), session ids, and buttons to drop (mock) or disconnect/connect.
 */
import type { Client, Connection, ConnectionState } from '../../../client/index.js';
import type { Backend } from '../backend.js';
import { h, mount } from '../dom.js';
import type { Lifetime } from '../live.js';

interface ChannelStatus {
  lastClose?: number;
  retryAt?: number;
}

export function connectionsView(root: HTMLElement, backendRoot: HTMLElement, backend: Backend, client: Client, life: Lifetime): void {
  const status = new Map<string, ChannelStatus>();
  const render = life.renderer(() => mount(root, header(), table()));

  function describe(name: string, c: Connection): string {
    const s = status.get(name) ?? {};
    const state: ConnectionState = c.state;
    if (state === 'reconnecting') {
      const left = s.retryAt !== undefined ? Math.ceil((s.retryAt - Date.now()) / 1000) : 0;
      return left > 0 ? `reconnecting in ${left} s` : 'reconnecting…';
    }
    if (state === 'closed') return s.lastClose !== undefined ? `closed (${s.lastClose})` : 'closed';
    if (state === 'connecting') return 'connecting…';
    return 'open';
  }

  function header(): HTMLElement {
    return h(
      'header',
      {},
      h('h2', {}, 'Connections'),
      backend.mock
        ? h(
            'button',
            {
              'data-testid': 'drop',
              title: 'Simulate an outage: every socket drops (1006) and reconnects',
              onclick: () => backend.mock!.dropAll(),
            },
            'Drop',
          )
        : null,
      h('button', { 'data-testid': 'disconnect', onclick: () => client.disconnect() }, 'Disconnect'),
      h('button', { 'data-testid': 'connect', onclick: () => client.connect() }, 'Connect'),
    );
  }

  function table(): HTMLElement {
    return h(
      'table',
      { 'data-testid': 'connections-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'channel'), h('th', {}, 'state'), h('th', {}, 'session'), h('th', {}, 'records'))),
      h(
        'tbody',
        {},
        ...Object.entries(client.channels).map(([name, c]) =>
          h(
            'tr',
            { 'data-testid': `connection-${name}`, 'data-state': c.state },
            h('td', {}, name),
            h('td', { 'data-testid': `state-${name}`, class: `state state-${c.state}` }, describe(name, c)),
            h('td', { class: 'muted mono', title: c.sessionId ?? '' }, c.sessionId ? c.sessionId.slice(0, 8) : '—'),
            h('td', { class: 'num' }, c.store.size),
          ),
        ),
      ),
    );
  }

  for (const [name, c] of Object.entries(client.channels)) {
    status.set(name, {});
    // The connections outlive a hot update of the playground (hotKeep); what listens to them here does not.
    life.add(c.events.on('state', render));
    life.add(c.events.on('init', render));
    life.add(
      c.events.on('close', (e) => {
        status.get(name)!.lastClose = e.code;
        render();
      }),
    );
    life.add(
      c.events.on('reconnecting', (r) => {
        status.get(name)!.retryAt = Date.now() + r.delayMs;
        render();
      }),
    );
    life.add(c.store.subscribe(render));
  }
  life.every(500, render); // the countdown
  render();
  backendChooser(backendRoot, backend);
}

/** The backend chooser: in-page mock or a server URL; switching reloads with `?backend=`. */
function backendChooser(root: HTMLElement, backend: Backend): void {
  const input = h('input', {
    type: 'text',
    value: backend.kind === 'server' ? backend.url : 'ws://127.0.0.1:9100',
    'data-testid': 'backend-url',
    size: 28,
  });
  const go = (value: string) => {
    const params = new URLSearchParams(location.search);
    params.set('backend', value);
    location.search = params.toString();
  };
  mount(
    root,
    h('span', { class: `badge ${backend.kind}`, 'data-testid': 'backend-kind' }, backend.kind === 'mock' ? 'in-page mock' : 'server'),
    h('span', { class: 'muted mono' }, backend.url),
    h('button', { onclick: () => go('mock'), disabled: backend.kind === 'mock' }, 'Use mock'),
    input,
    h('button', { onclick: () => go(input.value.trim()) }, 'Use server'),
  );
}
