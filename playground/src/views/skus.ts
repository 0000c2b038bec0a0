/** SKUs with their match rules and how many nodes each one has. */
import type { Connection } from '../../../client/index.js';
import { h, mount, scheduler } from '../dom.js';

export function skusView(root: HTMLElement, skus: Connection, nodes: Connection): void {
  const render = scheduler(() => {
    const count = new Map<string, number>();
    for (const n of nodes.store.getSnapshot()) if (typeof n.sku === 'string') count.set(n.sku, (count.get(n.sku) ?? 0) + 1);
    const rows = skus.store.getSnapshot();
    mount(
      root,
      h('header', {}, h('h2', {}, 'SKUs'), h('span', { class: 'count' }, rows.length)),
      h(
        'ul',
        { class: 'list', 'data-testid': 'skus-list' },
        ...rows.map((s) => {
          const rules = Array.isArray(s.rules) ? s.rules : [];
          return h(
            'li',
            { 'data-testid': 'sku', 'data-id': String(s.id) },
            h('strong', {}, String(s.name ?? s.id)),
            h('span', { class: 'count' }, `${count.get(String(s.id)) ?? 0} nodes`),
            h('div', { class: 'muted small' }, rules.map((r) => JSON.stringify(r)).join(' · ')),
          );
        }),
      ),
    );
  });
  skus.store.subscribe(render);
  nodes.store.subscribe(render);
  render();
}
