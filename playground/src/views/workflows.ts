/** Workflows with status and progress. Click selects the workflow (and its node) for the log pane. */
import type { Connection, Doc } from '../../../client/index.js';
import { ago, h, mount, scheduler } from '../dom.js';
import type { SelectionState } from '../state.js';

interface Progress {
  value?: number;
  maximum?: number;
  percentage?: string;
  description?: string;
}

function percent(p: Progress | undefined, status: string): number {
  if (status === 'succeeded') return 100;
  if (!p?.maximum) return 0;
  return Math.round(((p.value ?? 0) / p.maximum) * 100);
}

export function workflowsView(root: HTMLElement, workflows: Connection, nodes: Connection, selection: SelectionState): void {
  const render = scheduler(() => {
    const selectedNode = selection.value.nodeId;
    const rows = [...workflows.store.getSnapshot()].sort((a, b) => String(b.updatedAt).localeCompare(String(a.updatedAt)));
    mount(
      root,
      h('header', {}, h('h2', {}, 'Workflows'), h('span', { class: 'count' }, rows.length)),
      h(
        'div',
        { class: 'scroll' },
        h(
          'table',
          { 'data-testid': 'workflows-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, 'workflow'),
              h('th', {}, 'node'),
              h('th', {}, 'status'),
              h('th', {}, 'progress'),
              h('th', {}, 'updated'),
            ),
          ),
          h(
            'tbody',
            {},
            ...rows.map((w: Doc) => {
              const status = String(w._status ?? 'unknown');
              const progress = w.progress as Progress | undefined;
              const pct = percent(progress, status);
              const node = nodes.store.get(String(w.node));
              return h(
                'tr',
                {
                  'data-testid': 'workflow-row',
                  'data-id': String(w.instanceId),
                  class: w.instanceId === selection.value.workflowId ? 'selected' : w.node === selectedNode ? 'related' : '',
                  onclick: () => selection.set({ nodeId: String(w.node), workflowId: String(w.instanceId) }),
                },
                h('td', { title: String(w.injectableName ?? '') }, String(w.name ?? w.injectableName ?? w.instanceId)),
                h('td', { class: 'muted' }, String(node?.name ?? String(w.node ?? '').slice(-6))),
                h('td', {}, h('span', { class: `status status-${status}`, 'data-testid': 'workflow-status' }, status)),
                h(
                  'td',
                  { title: progress?.description ?? '' },
                  h('div', { class: 'bar', 'data-testid': 'workflow-progress', 'data-value': pct }, h('div', { style: `width:${pct}%` })),
                ),
                h('td', { class: 'muted' }, ago(w.updatedAt)),
              );
            }),
          ),
        ),
      ),
    );
  });
  workflows.store.subscribe(render);
  nodes.store.subscribe(render);
  selection.subscribe(render);
  render();
}
