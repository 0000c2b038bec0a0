// @vitest-environment happy-dom
/**
 * The Vue and Svelte recipes of docs/client.md "React, Vue, Svelte" (their code: test/support/recipes/), run against
 * the mock: a Vue component mounted with `createApp`, a Svelte store subscribed as a component's `$store` does. Each
 * shows loading then only its filter's records, keeps the previous records while new params load, and stops its
 * watch when the component (the last subscriber) goes — counted on the mock's hub.
 */
import { get } from 'svelte/store';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, defineComponent, h, nextTick, reactive, ref } from 'vue';
import { type Client, createClient, type Doc, type Filter, type LiveSnapshot } from '../client/index.js';
import { createMockServer, type MockServer } from '../mock/index.js';
import { type FrameRecorder, recordFrames } from './support/mock-frames.js';
import { nodeNames } from './support/records.js';
import { liveStore } from './support/recipes/svelte-live-store.js';
import { useLive } from './support/recipes/vue-use-live.js';
import { waitFor } from './support/wait.js';

let mock: MockServer;
let client: Client<'nodes'>;
let frames: FrameRecorder;
let port = 9500;

function setup(latencyMs = 0): void {
  mock = createMockServer({ url: `ws://recipes.test:${port++}`, latencyMs });
  frames = recordFrames(mock);
  client = createClient({ url: mock.url, channels: ['nodes'], WebSocket: mock.WebSocket });
}

afterEach(async () => {
  document.body.innerHTML = '';
  client.disconnect();
  await mock.close();
});

const names = (type: string): string[] => nodeNames(mock, type);

const shown = (s: LiveSnapshot<Doc>): string[] => s.data.map((n) => String(n.name)).sort();

describe('Vue: useLive (shallowRef + onScopeDispose)', () => {
  /** Mounts a component showing `useLive(nodes, params)`; returns its root and every snapshot it rendered. */
  function mount(params: Parameters<typeof useLive>[1]) {
    const seen: LiveSnapshot<Doc>[] = [];
    const el = document.createElement('div');
    document.body.append(el);
    const app = createApp(
      defineComponent({
        setup() {
          // biome-ignore lint/correctness/useHookAtTopLevel: a Vue composable, called in setup() as Vue asks; the rule is React's.
          const nodes = useLive(client.channels.nodes, params);
          return () => {
            seen.push(nodes.value);
            return h('ul', { 'data-status': nodes.value.status, 'data-previous': String(nodes.value.isPrevious) }, [
              ...nodes.value.data.map((n) => h('li', { key: String(n.id) }, String(n.name))),
            ]);
          };
        },
      }),
    );
    app.mount(el);
    const ul = () => el.querySelector('ul')!;
    const items = () => [...el.querySelectorAll('li')].map((li) => li.textContent ?? '').sort();
    return { app, seen, ul, items };
  }

  it('renders loading, then only its filter’s records; a ref change keeps them until the new list; unmount stops', async () => {
    setup(30);
    const filter = ref<Filter>({ type: 'compute' });
    const { app, seen, ul, items } = mount(filter);
    expect(ul().dataset.status).toBe('loading');
    await waitFor(() => ul().dataset.status === 'ready');
    expect(items()).toEqual(names('compute'));

    seen.length = 0;
    filter.value = { type: 'switch' };
    await nextTick();
    expect(ul().dataset.previous).toBe('true');
    expect(items()).toEqual(names('compute'));
    await waitFor(() => ul().dataset.previous === 'false');
    expect(items()).toEqual(names('switch'));
    for (const s of seen.filter((s) => s.status === 'ready')) expect(shown(s)).toEqual(s.isPrevious ? names('compute') : names('switch'));

    app.unmount();
    await waitFor(() => frames.of('stop', 'nodes').length === 2);
    expect(frames.of('stop', 'nodes')).toEqual(['stop {"type":"compute"}', 'stop {"type":"switch"}']); // the swap, then the unmount
    await waitFor(() => mock.hub.stats().watches === 0);
  });

  it('follows a reactive object changed in place (a nested field too)', async () => {
    setup();
    const filter = reactive<{ type: { $in: string[] } }>({ type: { $in: ['compute'] } });
    const { app, ul, items } = mount(filter);
    await waitFor(() => ul().dataset.status === 'ready');
    filter.type.$in.push('switch');
    await waitFor(() => items().length === names('compute').length + names('switch').length);
    expect(frames.of('watch', 'nodes')).toEqual(['watch {"type":{"$in":["compute"]}}', 'watch {"type":{"$in":["compute","switch"]}}']);
    app.unmount();
  });
});

describe('Svelte: liveStore (a readable store)', () => {
  it('opens with its first subscriber, shows only its filter, keeps the records while new params load, closes with the last', async () => {
    setup(30);
    const nodes = liveStore(client.channels.nodes, { type: 'compute' });
    expect(frames.of('watch')).toEqual([]); // nothing until someone subscribes

    const seen: LiveSnapshot<Doc>[] = [];
    const stopA = nodes.subscribe((s) => seen.push(s)); // what `$nodes` does in a component
    const stopB = nodes.subscribe(() => {});
    expect(seen[0]!.status).toBe('loading');
    await waitFor(() => seen.at(-1)!.status === 'ready');
    expect(shown(seen.at(-1)!)).toEqual(names('compute'));

    nodes.setParams({ type: 'switch' });
    expect(seen.at(-1)!.isPrevious).toBe(true);
    expect(shown(seen.at(-1)!)).toEqual(names('compute'));
    await waitFor(() => !seen.at(-1)!.isPrevious);
    expect(shown(seen.at(-1)!)).toEqual(names('switch'));
    expect(frames.of('watch', 'nodes')).toEqual(['watch {"type":"compute"}', 'watch {"type":"switch"}']);

    await waitFor(() => frames.of('stop').length === 1);
    expect(frames.of('stop')).toEqual(['stop {"type":"compute"}']); // the swap released the old params

    stopA();
    client.channels.nodes.query({ id: 'barrier' }); // reaches the mock after anything sent before it
    await waitFor(() => frames.of('query').length === 1);
    expect(frames.of('stop')).toHaveLength(1);
    stopB();
    await waitFor(() => frames.of('stop').length === 2);
    expect(frames.of('stop')[1]).toBe('stop {"type":"switch"}');
  });

  it('a later subscriber (a component mounted again) opens it with the last params, and get() reads it once', async () => {
    setup();
    const nodes = liveStore(client.channels.nodes, { type: 'compute' });
    nodes.setParams({ type: 'switch' }); // no subscriber yet: remembered for the next open
    const snapshots: LiveSnapshot<Doc>[] = [];
    const stop = nodes.subscribe((s) => snapshots.push(s));
    await waitFor(() => snapshots.at(-1)!.status === 'ready');
    expect(shown(snapshots.at(-1)!)).toEqual(names('switch'));
    expect(get(nodes).status).toBe('ready');
    stop();
    await waitFor(() => mock.hub.stats().watches === 0);
  });
});
