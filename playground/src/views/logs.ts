/**
 * Live log pane for the selected node (`{subject: nodeId}`) or workflow (`{'context.graphInstance': id}`):
 * filtered server-side by the watch, by level on screen; auto-scrolls while at the bottom; bounded.
 */
import type { Connection, Doc, Filter } from '../../../client/index.js';
import { h, mount, scheduler } from '../dom.js';
import type { SelectionState } from '../state.js';

/** RackHD's levels, most severe first. */
const LEVELS = ['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug', 'silly'];
const SHOWN = 300;

export function logsView(root: HTMLElement, logs: Connection, selection: SelectionState): void {
  let watching: Filter | undefined;
  let minLevel = 'debug';
  const list = h('ol', { class: 'log', 'data-testid': 'log-lines' });
  const scroller = h('div', { class: 'scroll log-scroll' }, list);
  const title = h('span', { class: 'muted' });
  const select = h(
    'select',
    {
      'data-testid': 'log-level',
      onchange: (e: Event) => {
        minLevel = (e.target as HTMLSelectElement).value;
        return render();
      },
    },
    ...LEVELS.map((l) => h('option', { value: l, selected: l === minLevel }, `${l} and above`)),
  );
  mount(root, h('header', {}, h('h2', {}, 'Logs'), title, select), scroller);

  const scopeOf = (): Filter | undefined => {
    const { nodeId, workflowId } = selection.value;
    if (workflowId) return { 'context.graphInstance': workflowId };
    if (nodeId) return { subject: nodeId };
    return undefined;
  };
  const follow = () => {
    const next = scopeOf();
    if (JSON.stringify(next) === JSON.stringify(watching)) return;
    if (watching) logs.stop(watching);
    watching = next;
    if (watching) logs.watch(watching);
    render();
  };
  const visible = (entry: Doc): boolean => {
    if (!watching) return false;
    const rank = LEVELS.indexOf(String(entry.level));
    if (rank > LEVELS.indexOf(minLevel)) return false;
    if (watching.subject !== undefined) return entry.subject === watching.subject;
    const ctx = entry.context as { graphInstance?: unknown } | undefined;
    return ctx?.graphInstance === watching['context.graphInstance'];
  };
  const render = scheduler(() => {
    const { nodeId, workflowId } = selection.value;
    title.textContent = workflowId
      ? `workflow ${workflowId.slice(0, 8)}`
      : nodeId
        ? `node ${nodeId.slice(-6)}`
        : 'select a node or workflow';
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 8;
    const lines = logs.store
      .getSnapshot()
      .filter(visible)
      .sort((a, b) => String(a.timestamp).localeCompare(String(b.timestamp)))
      .slice(-SHOWN);
    list.replaceChildren(
      ...lines.map((e) =>
        h(
          'li',
          { 'data-testid': 'log-line', 'data-level': String(e.level), class: `level-${String(e.level)}` },
          h('span', { class: 'muted' }, String(e.timestamp ?? '').slice(11, 19)),
          h('span', { class: 'lvl' }, String(e.level)),
          h('span', {}, String(e.message)),
        ),
      ),
    );
    if (atBottom) scroller.scrollTop = scroller.scrollHeight;
  });
  logs.store.subscribe(render);
  selection.subscribe(follow);
  follow();
}
