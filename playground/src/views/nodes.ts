/** Nodes table: name, type, SKU (resolved through the skus store), updated. Click selects a node. */
import type { Connection, Doc } from '../../../client/index.js';
import { ago, h, mount, scheduler } from '../dom.js';
import type { SelectionState } from '../state.js';

export function nodesView(root: HTMLElement, nodes: Connection, skus: Connection, selection: SelectionState): void {
  const skuName = (id: unknown): string => {
    if (typeof id !== 'string') return '—';
    const sku = skus.store.get(id);
    return typeof sku?.name === 'string' ? sku.name : id.slice(-6);
  };
  const render = scheduler(() => {
    const rows = [...nodes.store.getSnapshot()].sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
    const selected = selection.value.nodeId;
    mount(
      root,
      h('header', {}, h('h2', {}, 'Nodes'), h('span', { class: 'count', 'data-testid': 'nodes-count' }, rows.length)),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { 'data-testid': 'nodes-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'type'), h('th', {}, 'SKU'), h('th', {}, 'updated'))),
          h(
            'tbody',
            {},
            ...rows.map((n: Doc) =>
              h(
                'tr',
                {
                  'data-testid': 'node-row',
                  'data-id': String(n.id),
                  class: n.id === selected ? 'selected' : '',
                  onclick: () => selection.set({ nodeId: String(n.id) }),
                },
                h('td', { 'data-testid': 'node-name' }, String(n.name ?? n.id)),
                h('td', {}, h('span', { class: `tag type-${String(n.type)}` }, String(n.type ?? ''))),
                h('td', {}, skuName(n.sku)),
                h('td', { class: 'muted', title: String(n.updatedAt ?? '') }, ago(n.updatedAt)),
              ),
            ),
          ),
        ),
      ),
    );
  });
  nodes.store.subscribe(render);
  skus.store.subscribe(render);
  selection.subscribe(render);
  setInterval(render, 5000); // keeps "updated" ages fresh
  render();
}
