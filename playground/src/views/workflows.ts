/**
 * The selected node's workflows, with status and progress: one live query `{node: id}`, moved with `setParams` when
 * another node is selected (the previous node's rows stay, dimmed, until the new list). A click selects the workflow
 * for the log pane.
 */
import type { Connection, LiveQuery, Node, TaskState, Workflow, WorkflowProgress } from '../../../client/index.js';
import { ago, h, mount } from '../dom.js';
import { type Lifetime, rowsAttrs, statusBadge, updatingNote } from '../live.js';
import type { SelectionState } from '../state.js';

function percent(p: WorkflowProgress | undefined, status: TaskState): number {
  if (status === 'succeeded') return 100;
  if (!p?.maximum) return 0;
  return Math.round((p.value / p.maximum) * 100);
}

export function workflowsView(
  root: HTMLElement,
  workflows: Connection<Workflow>,
  nodes: LiveQuery<Node>,
  selection: SelectionState,
  life: Lifetime,
): void {
  const render = life.renderer(() => {
    const { query } = pane;
    const nodeId = selection.value.nodeId;
    const node = nodes.getSnapshot().data.find((n) => n.id === nodeId);
    if (!query || nodeId === undefined) {
      mount(root, h('header', {}, h('h2', {}, 'Workflows')), h('p', { class: 'muted' }, 'Select a node to see its workflows.'));
      return;
    }
    const snapshot = query.getSnapshot();
    const rows = [...snapshot.data].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
    mount(
      root,
      h(
        'header',
        {},
        h('h2', {}, 'Workflows'),
        h('span', { class: 'muted', 'data-testid': 'workflows-node' }, node?.name ?? nodeId.slice(-6)),
        updatingNote('workflows', snapshot),
        statusBadge('workflows', snapshot),
        h('span', { class: 'count' }, rows.length),
      ),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { 'data-testid': 'workflows-table', ...rowsAttrs(snapshot) },
          h('thead', {}, h('tr', {}, h('th', {}, 'workflow'), h('th', {}, 'status'), h('th', {}, 'progress'), h('th', {}, 'updated'))),
          h(
            'tbody',
            {},
            ...rows.map((w) => {
              const pct = percent(w.progress, w._status);
              return h(
                'tr',
                {
                  'data-testid': 'workflow-row',
                  'data-id': w.instanceId,
                  'data-node': w.node ?? '',
                  class: w.instanceId === selection.value.workflowId ? 'selected' : '',
                  onclick: () => selection.set({ nodeId: w.node ?? nodeId, workflowId: w.instanceId }),
                },
                h('td', { title: w.injectableName }, w.name || w.injectableName || w.instanceId),
                h('td', {}, h('span', { class: `status status-${w._status}`, 'data-testid': 'workflow-status' }, w._status)),
                h(
                  'td',
                  { title: w.progress?.description ?? '' },
                  h('div', { class: 'bar', 'data-testid': 'workflow-progress', 'data-value': pct }, h('div', { style: `width:${pct}%` })),
                ),
                h('td', { class: 'muted' }, ago(w.updatedAt)),
              );
            }),
          ),
        ),
        snapshot.status === 'ready' && rows.length === 0 ? h('p', { class: 'muted' }, 'No workflow on this node.') : null,
      ),
    );
  });
  /** Opened on the first selected node, then moved. */
  const pane = life.following(workflows, render);
  const follow = (): void => {
    const { nodeId } = selection.value;
    pane.follow(nodeId === undefined ? undefined : { node: nodeId });
  };
  life.subscribe(nodes, render);
  life.add(selection.subscribe(follow));
  follow();
  render();
}
