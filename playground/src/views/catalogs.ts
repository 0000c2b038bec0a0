/** Catalogs of the selected node: one live query `{node: id}`, moved with `setParams` when the selection changes. */
import type { Catalog, Connection } from '../../../client/index.js';
import { ago, h, mount } from '../dom.js';
import { type Lifetime, rowsAttrs, statusBadge, updatingNote } from '../live.js';
import type { SelectionState } from '../state.js';

export function catalogsView(root: HTMLElement, catalogs: Connection<Catalog>, selection: SelectionState, life: Lifetime): void {
  let open: string | undefined;
  const render = life.renderer(() => {
    const { query } = pane;
    if (!query) {
      mount(root, h('header', {}, h('h2', {}, 'Catalogs')), h('p', { class: 'muted' }, 'Select a node to see its catalogs.'));
      return;
    }
    const snapshot = query.getSnapshot();
    const rows = snapshot.data;
    mount(
      root,
      h(
        'header',
        {},
        h('h2', {}, 'Catalogs'),
        updatingNote('catalogs', snapshot),
        statusBadge('catalogs', snapshot),
        h('span', { class: 'count' }, rows.length),
      ),
      h(
        'ul',
        { 'data-testid': 'catalogs-list', ...rowsAttrs(snapshot, 'list') },
        ...rows.map((c) =>
          h(
            'li',
            { 'data-testid': 'catalog', 'data-source': c.source, 'data-node': c.node },
            h(
              'button',
              {
                class: 'link',
                onclick: () => {
                  open = open === c.id ? undefined : c.id;
                  return render();
                },
              },
              c.source,
            ),
            h('span', { class: 'muted small' }, ago(c.updatedAt)),
            open === c.id ? h('pre', {}, JSON.stringify(c.data, null, 2)) : null,
          ),
        ),
      ),
    );
  });
  /** Opened on the first selected node, then moved. */
  const pane = life.following(catalogs, render);
  const follow = (): void => {
    const { nodeId } = selection.value;
    pane.follow(nodeId === undefined ? undefined : { node: nodeId });
  };
  life.add(selection.subscribe(follow));
  follow();
  render();
}
