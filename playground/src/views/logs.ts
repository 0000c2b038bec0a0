/**
 * The log pane: one live query on the append-only `logs` channel — the selected workflow's lines
 * (`{'context.graphInstance': id}`, how a RackHD log line names its workflow) or, with only a node selected, the node's
 * (`{subject: id}`) — moved with `setParams` when the selection or the level changes. The server filters and the query
 * holds only its own lines, so nothing here filters by hand; auto-scrolls while at the bottom; bounded.
 */
import type { Connection, Filter, LogEvent, LogLevel } from '../../../client/index.js';
import { h, mount } from '../dom.js';
import { type Lifetime, markRows, statusBadge, updatingNote } from '../live.js';
import type { SelectionState } from '../state.js';

/** RackHD's levels, most severe first. */
const LEVELS: readonly LogLevel[] = ['critical', 'error', 'warning', 'info', 'debug'];
/** The lines shown: the newest (`live(params, {limit})`). */
const SHOWN = 300;

export function logsView(root: HTMLElement, logs: Connection<LogEvent>, selection: SelectionState, life: Lifetime): void {
  let minLevel: LogLevel = 'debug';
  const list = h('ol', { class: 'log', 'data-testid': 'log-lines' });
  const scroller = h('div', { class: 'scroll log-scroll' }, list);
  const title = h('span', { class: 'muted', 'data-testid': 'logs-scope' });
  const badge = h('span');
  const select = h(
    'select',
    {
      'data-testid': 'log-level',
      title: 'Moves the live query: the server sends only these levels',
      onchange: (e: Event) => {
        minLevel = (e.target as HTMLSelectElement).value as LogLevel;
        follow();
      },
    },
    ...LEVELS.map((l) => h('option', { value: l, selected: l === minLevel }, `${l} and above`)),
  );
  mount(root, h('header', {}, h('h2', {}, 'Logs'), title, badge, select), scroller);

  /** The params for the selection and the level; undefined while nothing is selected. */
  const paramsOf = (): Filter<LogEvent> | undefined => {
    const { nodeId, workflowId } = selection.value;
    // Every level: no condition, so lines of a level RackHD adds later still show.
    const level = minLevel === 'debug' ? {} : { level: { $in: LEVELS.slice(0, LEVELS.indexOf(minLevel) + 1) } };
    if (workflowId) return { 'context.graphInstance': workflowId, ...level };
    if (nodeId) return { subject: nodeId, ...level };
    return undefined;
  };
  const follow = (): void => pane.follow(paramsOf());

  const render = life.renderer(() => {
    const { query } = pane;
    const { nodeId, workflowId } = selection.value;
    title.textContent = workflowId
      ? `workflow ${workflowId.slice(0, 8)}`
      : nodeId
        ? `node ${nodeId.slice(-6)}`
        : 'select a node or workflow';
    if (!query) return;
    const snapshot = query.getSnapshot();
    badge.replaceChildren(updatingNote('logs', snapshot) ?? '', statusBadge('logs', snapshot));
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 8;
    const lines = [...snapshot.data].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
    markRows(list, snapshot);
    list.replaceChildren(
      ...lines.map((e) =>
        h(
          'li',
          {
            'data-testid': 'log-line',
            'data-level': e.level,
            'data-graph': e.context?.graphInstance ?? '',
            'data-subject': e.subject,
            class: `level-${e.level}`,
          },
          h('span', { class: 'muted' }, e.timestamp.slice(11, 19)),
          h('span', { class: 'lvl' }, e.level),
          h('span', {}, e.message),
        ),
      ),
    );
    if (snapshot.status === 'ready' && lines.length === 0) list.append(h('li', { class: 'muted' }, 'No lines yet.'));
    if (atBottom) scroller.scrollTop = scroller.scrollHeight;
  });
  /** Opened on the first selection, then moved. */
  const pane = life.following(logs, render, { limit: SHOWN });
  life.add(selection.subscribe(follow));
  follow();
  render();
}
