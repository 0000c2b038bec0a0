/**
 * RackHD's other resources — graph and task definitions, templates, profiles, files, lookups — one tab each, with
 * its live record count; the selected tab lists its records by the field RackHD shows them by.
 */
import type { Connection } from '../../../client/index.js';
import type { Doc } from '../../../protocol/index.js';
import { h, mount, scheduler } from '../dom.js';

/** The channels this pane shows, with the field that names a record of each. */
export const RESOURCE_TABS = {
  graphdefinitions: 'injectableName',
  taskdefinitions: 'injectableName',
  templates: 'name',
  profiles: 'name',
  files: 'basename',
  lookups: 'macAddress',
} as const;

export type ResourceTab = keyof typeof RESOURCE_TABS;

function detail(tab: ResourceTab, doc: Doc): string {
  if (tab === 'graphdefinitions') return `${Array.isArray(doc.tasks) ? doc.tasks.length : 0} tasks`;
  if (tab === 'taskdefinitions') return String(doc.implementsTask ?? '');
  if (tab === 'lookups') return `${String(doc.ipAddress ?? '')}${doc.node ? '' : ' · undiscovered'}`;
  if (tab === 'files') return `v${String(doc.version ?? 0)}`;
  return String(doc.scope ?? '');
}

export function resourcesView(root: HTMLElement, channels: Readonly<Record<ResourceTab, Connection>>): void {
  let selected: ResourceTab = 'graphdefinitions';
  const tabs = Object.keys(RESOURCE_TABS) as ResourceTab[];
  const select = (tab: ResourceTab): void => {
    selected = tab;
    render();
  };
  const render = scheduler(() => {
    const rows = channels[selected].store.getSnapshot();
    const field = RESOURCE_TABS[selected];
    mount(
      root,
      h('header', {}, h('h2', {}, 'RackHD resources')),
      h(
        'div',
        { class: 'tabs', 'data-testid': 'resource-tabs' },
        ...tabs.map((tab) =>
          h(
            'button',
            { 'data-testid': `tab-${tab}`, 'aria-pressed': tab === selected ? 'true' : 'false', onclick: () => select(tab) },
            tab,
            ' ',
            h('span', { class: 'count', 'data-testid': `count-${tab}` }, channels[tab].store.size),
          ),
        ),
      ),
      h(
        'ul',
        { class: 'list', 'data-testid': 'resource-list', 'data-resource': selected },
        ...rows.map((doc) =>
          h(
            'li',
            { 'data-testid': 'resource', 'data-id': String(doc.id) },
            h('strong', {}, String(doc[field] ?? doc.id)),
            ' ',
            h('span', { class: 'muted small' }, detail(selected, doc)),
          ),
        ),
      ),
    );
  });
  for (const tab of tabs) {
    channels[tab].watch({});
    channels[tab].store.subscribe(render);
  }
  render();
}
