/**
 * Nodes: one live query, moved by the type filter with `setParams`. While the new list is on its way the previous rows
 * stay on screen, dimmed and marked "updating…", and swap in one step when it arrives: the table never empties in
 * between. Name, type, SKU (resolved through the SKUs' live query), updated; a click selects the node.
 */
import type { Connection, Filter, LiveQuery, Node, NodeType, Sku } from '../../../client/index.js';
import { ago, h, mount } from '../dom.js';
import { type Lifetime, rowsAttrs, statusBadge, updatingNote } from '../live.js';
import type { SelectionState } from '../state.js';

/** The filter's choices: every node, or one of RackHD's node types. */
export const NODE_TYPES: ReadonlyArray<NodeType | 'all'> = ['all', 'compute', 'switch', 'pdu', 'enclosure'];

const paramsOf = (type: NodeType | 'all'): Filter<Node> => (type === 'all' ? {} : { type });

export function nodesView(
  root: HTMLElement,
  nodes: Connection<Node>,
  skus: LiveQuery<Sku>,
  selection: SelectionState,
  life: Lifetime,
): void {
  const query = life.live(nodes, {});
  const select = h(
    'select',
    {
      'data-testid': 'node-type',
      title: 'Moves the live query: nodes.live(…).setParams({type})',
      onchange: (e: Event) => query.setParams(paramsOf((e.target as HTMLSelectElement).value as NodeType | 'all')),
    },
    ...NODE_TYPES.map((t) => h('option', { value: t }, t === 'all' ? 'all types' : t)),
  );
  // Built once: the select must survive the renders (a demo changes nodes every second).
  const count = h('span', { class: 'count', 'data-testid': 'nodes-count' });
  const badge = h('span');
  const note = h('span');
  const body = h('div', { class: 'scroll' });
  mount(root, h('header', {}, h('h2', {}, 'Nodes'), note, badge, count, select), body);

  const render = life.renderer(() => {
    const snapshot = query.getSnapshot();
    const skuNames = new Map(skus.getSnapshot().data.map((s) => [s.id, s.name]));
    const rows = [...snapshot.data].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const selected = selection.value.nodeId;
    count.textContent = String(rows.length);
    badge.replaceChildren(statusBadge('nodes', snapshot));
    note.replaceChildren(updatingNote('nodes', snapshot) ?? '');
    mount(
      body,
      h(
        'table',
        { 'data-testid': 'nodes-table', 'data-rows': rows.length, ...rowsAttrs(snapshot) },
        h('thead', {}, h('tr', {}, h('th', {}, 'name'), h('th', {}, 'type'), h('th', {}, 'SKU'), h('th', {}, 'updated'))),
        h(
          'tbody',
          {},
          ...rows.map((n) =>
            h(
              'tr',
              {
                'data-testid': 'node-row',
                'data-id': n.id,
                'data-type': n.type,
                class: n.id === selected ? 'selected' : '',
                onclick: () => selection.set({ nodeId: n.id }),
              },
              h('td', { 'data-testid': 'node-name' }, n.name || n.id),
              h('td', {}, h('span', { class: `tag type-${n.type}` }, n.type)),
              h('td', {}, n.sku ? (skuNames.get(n.sku) ?? n.sku.slice(-6)) : '—'),
              h('td', { class: 'muted', title: n.updatedAt }, ago(n.updatedAt)),
            ),
          ),
        ),
      ),
      snapshot.status === 'ready' && rows.length === 0 ? h('p', { class: 'muted' }, 'No node of this type.') : null,
    );
  });
  life.subscribe(query, render);
  life.subscribe(skus, render);
  life.add(selection.subscribe(render));
  life.every(5000, render); // keeps "updated" ages fresh
  render();
}
