/** Catalogs of the selected node: a watch `{node: id}` replaced whenever the selection changes. */
import type { Connection, Filter } from '../../../client/index.js';
import { ago, h, mount, scheduler } from '../dom.js';
import type { SelectionState } from '../state.js';

export function catalogsView(root: HTMLElement, catalogs: Connection, selection: SelectionState): void {
  let watching: Filter | undefined;
  let open: string | undefined;
  const follow = () => {
    const nodeId = selection.value.nodeId;
    if (watching && watching.node === nodeId) return;
    if (watching) catalogs.stop(watching);
    watching = nodeId ? { node: nodeId } : undefined;
    if (watching) catalogs.watch(watching);
    render();
  };
  const render = scheduler(() => {
    const nodeId = selection.value.nodeId;
    const rows = nodeId ? catalogs.store.getSnapshot().filter((c) => c.node === nodeId) : [];
    mount(
      root,
      h('header', {}, h('h2', {}, 'Catalogs'), h('span', { class: 'count' }, rows.length)),
      nodeId
        ? h(
            'ul',
            { class: 'list', 'data-testid': 'catalogs-list' },
            ...rows.map((c) =>
              h(
                'li',
                { 'data-testid': 'catalog', 'data-source': String(c.source) },
                h(
                  'button',
                  {
                    class: 'link',
                    onclick: () => {
                      open = open === c.id ? undefined : String(c.id);
                      return render();
                    },
                  },
                  String(c.source),
                ),
                h('span', { class: 'muted small' }, ago(c.updatedAt)),
                open === c.id ? h('pre', {}, JSON.stringify(c.data, null, 2)) : null,
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'Select a node to see its catalogs.'),
    );
  });
  catalogs.store.subscribe(render);
  selection.subscribe(follow);
  follow();
}
