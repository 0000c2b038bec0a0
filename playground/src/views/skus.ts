/** SKUs with their match rules and how many nodes each one has: the live queries of every SKU and every node. */
import type { LiveQuery, Node, Sku } from '../../../client/index.js';
import { h, mount } from '../dom.js';
import { type Lifetime, rowsAttrs, statusBadge } from '../live.js';

export function skusView(root: HTMLElement, skus: LiveQuery<Sku>, nodes: LiveQuery<Node>, life: Lifetime): void {
  const render = life.renderer(() => {
    const count = new Map<string, number>();
    for (const n of nodes.getSnapshot().data) if (n.sku) count.set(n.sku, (count.get(n.sku) ?? 0) + 1);
    const snapshot = skus.getSnapshot();
    mount(
      root,
      h('header', {}, h('h2', {}, 'SKUs'), statusBadge('skus', snapshot), h('span', { class: 'count' }, snapshot.data.length)),
      h(
        'ul',
        { 'data-testid': 'skus-list', ...rowsAttrs(snapshot, 'list') },
        ...snapshot.data.map((s) =>
          h(
            'li',
            { 'data-testid': 'sku', 'data-id': s.id },
            h('strong', {}, s.name || s.id),
            h('span', { class: 'count' }, `${count.get(s.id) ?? 0} nodes`),
            h('div', { class: 'muted small' }, s.rules.map((r) => JSON.stringify(r)).join(' · ')),
          ),
        ),
      ),
    );
  });
  life.subscribe(skus, render);
  life.subscribe(nodes, render);
  render();
}
