// @vitest-environment happy-dom
/**
 * monorail-ws/react with React 19 and Testing Library, on the mock: what a component shows (data, status, previous
 * records while new params load, a stale list through an outage) and what it sends (one `watch`, a `stop` on
 * unmount, nothing more under StrictMode), counted on the mock's hub.
 */
import { act, cleanup, render } from '@testing-library/react';
import { createElement as h, type ReactNode, StrictMode, useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { type Client, type Connection, createClient, type Doc, type Filter } from '../client/index.js';
import { createMockServer, makeNode, type MockServer, type MockServerOptions } from '../mock/index.js';
import { type FrameRecorder, recordFrames } from '../test/support/mock-frames.js';
import { nodeNames } from '../test/support/records.js';
import { waitFor } from '../test/support/wait.js';
import { MonorailProvider, useChannel, useClient, useConnectionState, useLive } from './index.js';

const CHANNELS = ['nodes', 'workflows', 'logs'] as const;
type Channel = (typeof CHANNELS)[number];

let mock: MockServer;
let client: Client<Channel>;
let frames: FrameRecorder;
let port = 9400;

function setup(options: Partial<MockServerOptions> = {}): void {
  mock = createMockServer({ url: `ws://react.test:${port++}`, ...options });
  frames = recordFrames(mock);
  client = createClient({ url: mock.url, channels: CHANNELS, WebSocket: mock.WebSocket, backoff: { baseMs: 0, maxMs: 10 } });
}

afterEach(async () => {
  cleanup();
  client.disconnect();
  await mock.close();
});

/** The text of every element with `data-testid=id`. */
const texts = (id: string): string[] => [...document.querySelectorAll(`[data-testid="${id}"]`)].map((e) => e.textContent ?? '');
const text = (id: string): string | undefined => texts(id)[0];

/** A list of nodes from `useLive`, with the snapshot's fields as data attributes; every rendered snapshot recorded. */
function Nodes({ params, seen }: { params: Filter; seen?: Array<{ status: string; isPrevious: boolean; names: string[] }> }): ReactNode {
  const nodes = useChannel('nodes');
  const { data, status, error, isPrevious } = useLive(nodes, params);
  seen?.push({ status, isPrevious, names: data.map((n) => String(n.name)) });
  return h(
    'div',
    null,
    h('p', { 'data-testid': 'status' }, status),
    h('p', { 'data-testid': 'previous' }, String(isPrevious)),
    h('p', { 'data-testid': 'error' }, error?.code ?? ''),
    h('p', { 'data-testid': 'state' }, useConnectionState(nodes)),
    ...data.map((n) => h('p', { key: String(n.id), 'data-testid': 'node' }, String(n.name))),
  );
}

const app = (children: ReactNode): ReactNode => h(MonorailProvider, { client }, children);

/** Re-renders with an inline params literal, its keys in another order every other time. */
function Ticking(): ReactNode {
  const [n, setN] = useState(0);
  const nodes = useLive(
    client.channels.nodes,
    n % 2 === 0 ? { type: 'compute', name: { $ne: 'x' } } : { name: { $ne: 'x' }, type: 'compute' },
  );
  return h('button', { type: 'button', 'data-testid': 'tick', onClick: () => setN(n + 1) }, `${n} ${nodes.status}`);
}

/** One or two components on the same params. */
function Pair({ both }: { both: boolean }): ReactNode {
  return h('div', null, h(Nodes, { params: { type: 'compute' } }), both ? h(Nodes, { params: { type: 'compute' } }) : null);
}

/** Two channels' queries, the client from the provider. */
function Screen(): ReactNode {
  const client = useClient<Client<Channel>>();
  const logs = useLive(client.channels.logs, { level: 'error' });
  return h('div', null, h(Nodes, { params: { type: 'compute' } }), h('p', { 'data-testid': 'logs' }, logs.status));
}

function Orphan(): ReactNode {
  useClient();
  return null;
}

function Probe({ name, got }: { name: string; got: Connection<Doc>[] }): ReactNode {
  got.push(useChannel(name));
  return null;
}

function State(): ReactNode {
  return h('p', { 'data-testid': 'state' }, useConnectionState(useChannel('nodes')));
}

const names = (type: string): string[] => nodeNames(mock, type);

describe('useLive', () => {
  it('shows loading, then only the records of its own filter: a query on the same channel never leaks in', async () => {
    setup({ latencyMs: 20 });
    const seen: Array<{ status: string; isPrevious: boolean; names: string[] }> = [];
    render(app(h(Nodes, { params: { type: 'compute' }, seen })));
    expect(text('status')).toBe('loading');
    client.channels.nodes.query({ type: 'switch' }); // fills the channel's store with switches
    await waitFor(() => text('status') === 'ready');
    await waitFor(() => client.channels.nodes.store.getSnapshot().some((n) => n.type === 'switch'));
    expect(texts('node').sort()).toEqual(names('compute'));
    expect(seen[0]).toEqual({ status: 'loading', isPrevious: false, names: [] });
    expect(seen.filter((s) => s.status === 'ready').every((s) => s.names.length === names('compute').length)).toBe(true);
  });

  it('follows changes: a created node appears, a node that leaves the filter goes', async () => {
    setup();
    render(app(h(Nodes, { params: { type: 'compute' } })));
    await waitFor(() => text('status') === 'ready');
    const created = mock.upsert('nodes', makeNode(90, 'compute'));
    await waitFor(() => texts('node').includes(String(created.name)));
    mock.upsert('nodes', { ...created, type: 'switch' });
    await waitFor(() => !texts('node').includes(String(created.name)));
    expect(texts('node').sort()).toEqual(names('compute'));
  });

  it('turns stale on a dropped connection with the records still shown, and ready again after the reconnect', async () => {
    setup();
    render(app(h(Nodes, { params: { type: 'compute' } })));
    await waitFor(() => text('status') === 'ready');
    const shown = texts('node').sort();
    mock.refuse(true);
    mock.dropAll();
    await waitFor(() => text('status') === 'stale');
    expect(text('state')).toBe('reconnecting');
    expect(texts('node').sort()).toEqual(shown);
    mock.refuse(false);
    await waitFor(() => text('status') === 'ready' && text('state') === 'open');
    expect(texts('node').sort()).toEqual(shown);
  });

  it('new params keep the previous records (isPrevious) until their list, then swap in one render', async () => {
    setup({ latencyMs: 30 });
    const seen: Array<{ status: string; isPrevious: boolean; names: string[] }> = [];
    const view = render(app(h(Nodes, { params: { type: 'compute' }, seen })));
    await waitFor(() => text('status') === 'ready');
    seen.length = 0;
    view.rerender(app(h(Nodes, { params: { type: 'switch' }, seen })));
    expect(text('previous')).toBe('true');
    expect(texts('node').sort()).toEqual(names('compute'));
    await waitFor(() => text('previous') === 'false');
    expect(texts('node').sort()).toEqual(names('switch'));
    // Never empty in between, and never a mix: each render shows one filter's records.
    for (const s of seen) {
      expect(s.names.sort(), JSON.stringify(s)).toEqual(s.isPrevious ? names('compute') : names('switch'));
    }
    expect(frames.of('watch', 'nodes')).toEqual(['watch {"type":"compute"}', 'watch {"type":"switch"}']);
  });

  it('an inline object literal re-rendered (keys in another order too) opens nothing new', async () => {
    setup();
    render(h(Ticking));
    await waitFor(() => text('tick') === '0 ready');
    for (let i = 1; i <= 5; i++) act(() => (document.querySelector('[data-testid="tick"]') as HTMLElement).click());
    expect(text('tick')).toBe('5 ready');
    expect(frames.of('watch', 'nodes')).toHaveLength(1);
    expect(frames.of('stop', 'nodes')).toEqual([]);
  });

  it('sends stop on unmount; two components with the same params share one watch until the last goes', async () => {
    setup();
    const view = render(app(h(Pair, { both: true })));
    await waitFor(() => texts('status').join() === 'ready,ready');
    expect(frames.of('watch', 'nodes')).toEqual(['watch {"type":"compute"}']);
    view.rerender(app(h(Pair, { both: false })));
    // A barrier: a query sent now reaches the mock after anything the unmount sent.
    client.channels.nodes.query({ id: 'barrier' });
    await waitFor(() => frames.of('query', 'nodes').length === 1);
    expect(frames.of('stop', 'nodes')).toEqual([]);
    expect(mock.hub.stats().watches).toBe(1);
    view.unmount();
    await waitFor(() => frames.of('stop', 'nodes').length === 1);
    expect(frames.of('stop', 'nodes')).toEqual(['stop {"type":"compute"}']);
    await waitFor(() => mock.hub.stats().watches === 0);
  });

  it('a component mounting on params another one already shows has the records at its first paint, no loading', async () => {
    setup();
    const view = render(app(h(Pair, { both: false })));
    await waitFor(() => text('status') === 'ready');
    view.rerender(app(h(Pair, { both: true }))); // render() and rerender() return after React painted
    expect(texts('status')).toEqual(['ready', 'ready']);
    expect(texts('node')).toHaveLength(2 * names('compute').length);
  });

  it('a refused filter is status error with the code, without a round trip', async () => {
    setup();
    render(app(h(Nodes, { params: { name: { $regex: '^n' } } as unknown as Filter })));
    expect(text('status')).toBe('error');
    expect(text('error')).toBe('bad-params');
    expect(frames.of('watch')).toEqual([]);
  });
});

describe('StrictMode', () => {
  it('mounts twice while the sockets connect, but opens one socket per channel and leaves no watch behind after unmount', async () => {
    setup();
    const view = render(h(StrictMode, null, app(h(Screen))));
    await waitFor(() => text('status') === 'ready' && text('logs') === 'ready');
    expect(mock.hub.stats().connections).toBe(CHANNELS.length);
    expect(mock.hub.stats().watches).toBe(2);
    view.unmount();
    await waitFor(() => mock.hub.stats().watches === 0);
    expect(mock.hub.stats().connections).toBe(CHANNELS.length);
    // StrictMode's first mount is undone before the second: every watch sent has its stop.
    for (const channel of ['nodes', 'logs']) expect(frames.of('watch', channel).length).toBe(frames.of('stop', channel).length);
  });

  it('mounted on open sockets too: the first mount’s watch is stopped, one watch per query stays, none after unmount', async () => {
    setup();
    await waitFor(() => Object.values(client.channels).every((c) => c.state === 'open'));
    const view = render(h(StrictMode, null, app(h(Screen))));
    await waitFor(() => text('status') === 'ready' && text('logs') === 'ready');
    expect(mock.hub.stats()).toMatchObject({ connections: CHANNELS.length, watches: 2 });
    view.unmount();
    await waitFor(() => mock.hub.stats().watches === 0);
    for (const channel of ['nodes', 'logs']) expect(frames.of('watch', channel).length).toBe(frames.of('stop', channel).length);
  });
});

describe('MonorailProvider, useClient, useChannel, useConnectionState', () => {
  it('useClient outside a provider throws an error that names the provider', () => {
    setup();
    const logged = console.error;
    console.error = () => {}; // React reports the error it rethrows; the assertion is on the throw
    try {
      expect(() => render(h(Orphan))).toThrow('monorail-ws: useClient() outside <MonorailProvider>');
    } finally {
      console.error = logged;
    }
  });

  it('useChannel gives the provider client’s connection, and throws for a channel it does not have', () => {
    setup();
    const got: Connection<Doc>[] = [];
    render(app(h(Probe, { name: 'workflows', got })));
    expect(got[0]).toBe(client.channels.workflows);
    const logged = console.error;
    console.error = () => {};
    try {
      expect(() => render(app(h(Probe, { name: 'skus', got })))).toThrow('no channel "skus"');
    } finally {
      console.error = logged;
    }
  });

  it('useConnectionState follows the connection: open, reconnecting after a drop, open again', async () => {
    setup();
    render(app(h(State)));
    await waitFor(() => text('state') === 'open');
    mock.refuse(true);
    mock.dropAll();
    await waitFor(() => text('state') === 'reconnecting');
    mock.refuse(false);
    await waitFor(() => text('state') === 'open');
  });
});
