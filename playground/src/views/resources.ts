/**
 * RackHD's other resources — graph and task definitions, templates, profiles, files, lookups — one tab each, with
 * its live record count; the selected tab lists its records by the field RackHD shows them by. One live query per
 * channel (`{}`), so every tab's count stays current.
 */
import type { Connection, LiveQuery, RecordOf } from '../../../client/index.js';
import { h, mount } from '../dom.js';
import { type Lifetime, rowsAttrs, statusBadge } from '../live.js';

/** How a tab shows one of its records: the field RackHD names it by, and a detail. */
interface Shown<T> {
  name(doc: T): string;
  detail(doc: T): string;
}

/** The channels this pane shows, in tab order, each with how its records are shown. */
const TABS: { readonly [K in ResourceTab]: Shown<RecordOf<K>> } = {
  graphdefinitions: { name: (d) => d.injectableName, detail: (d) => `${d.tasks.length} tasks` },
  taskdefinitions: { name: (d) => d.injectableName, detail: (d) => d.implementsTask },
  templates: { name: (d) => d.name, detail: (d) => d.scope },
  profiles: { name: (d) => d.name, detail: (d) => d.scope },
  files: { name: (d) => d.basename, detail: (d) => `v${d.version}` },
  lookups: { name: (d) => d.macAddress, detail: (d) => `${d.ipAddress ?? ''}${d.node ? '' : ' · undiscovered'}` },
};

export type ResourceTab = 'graphdefinitions' | 'taskdefinitions' | 'templates' | 'profiles' | 'files' | 'lookups';
type Channels = { readonly [K in ResourceTab]: Connection<RecordOf<K>> };
type Queries = { readonly [K in ResourceTab]: LiveQuery<RecordOf<K>> };

/** The selected tab's records (generic, so that each record meets its own tab's `Shown`). */
function list<K extends ResourceTab>(tab: K, query: Queries[K]): HTMLElement {
  const snapshot = query.getSnapshot();
  const shown = TABS[tab];
  return h(
    'ul',
    { 'data-testid': 'resource-list', 'data-resource': tab, ...rowsAttrs(snapshot, 'list') },
    ...snapshot.data.map((doc) =>
      h(
        'li',
        { 'data-testid': 'resource', 'data-id': doc.id },
        h('strong', {}, shown.name(doc) || doc.id),
        ' ',
        h('span', { class: 'muted small' }, shown.detail(doc)),
      ),
    ),
  );
}

export function resourcesView(root: HTMLElement, channels: Channels, life: Lifetime): void {
  let selected: ResourceTab = 'graphdefinitions';
  const queries: Queries = {
    graphdefinitions: life.live(channels.graphdefinitions, {}),
    taskdefinitions: life.live(channels.taskdefinitions, {}),
    templates: life.live(channels.templates, {}),
    profiles: life.live(channels.profiles, {}),
    files: life.live(channels.files, {}),
    lookups: life.live(channels.lookups, {}),
  };
  const tabs = Object.keys(TABS) as ResourceTab[];
  const select = (tab: ResourceTab): void => {
    selected = tab;
    render();
  };
  const render = life.renderer(() => {
    mount(
      root,
      h('header', {}, h('h2', {}, 'RackHD resources'), statusBadge('resources', queries[selected].getSnapshot())),
      h(
        'div',
        { class: 'tabs', 'data-testid': 'resource-tabs' },
        ...tabs.map((tab) =>
          h(
            'button',
            { 'data-testid': `tab-${tab}`, 'aria-pressed': tab === selected ? 'true' : 'false', onclick: () => select(tab) },
            tab,
            ' ',
            h('span', { class: 'count', 'data-testid': `count-${tab}` }, queries[tab].getSnapshot().data.length),
          ),
        ),
      ),
      list(selected, queries[selected]),
    );
  });
  for (const tab of tabs) life.subscribe(queries[tab], render);
  render();
}
