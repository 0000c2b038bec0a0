/**
 * The live `mq` stream: RackHD's raw RabbitMQ messages as the SDK's append-only `mq` channel delivers them — by
 * default every `on.logging` line (`routingKey: '#'`), or one exchange and topic pattern chosen here. One live query,
 * moved with `setParams` when the topic changes, like the other panes: the store reads an `mq` watch's routing key as
 * the topic pattern it is (`mqMatches`), so the query holds exactly the entries of its pattern. On the mock and on a
 * server without a broker, the stream is the backend's own logs and events in RackHD's formats.
 */
import type { Connection, Filter, MqEntry } from '../../../client/index.js';
import { h, mount } from '../dom.js';
import { type Lifetime, markRows, statusBadge, updatingNote } from '../live.js';

/** The entries shown: the newest (`live(params, {limit})`). */
const SHOWN = 200;
/** The topics offered: the exchange and the routing-key pattern. */
const TOPICS: ReadonlyArray<readonly [string, string]> = [
  ['on.logging', '#'],
  ['on.logging', 'error'],
  ['on.events', '#'],
  ['on.events', 'graph.#'],
];

const topic = (i: number): Filter<MqEntry> => {
  const [exchange, routingKey] = TOPICS[i]!;
  return { exchange, routingKey };
};

export function mqView(root: HTMLElement, mq: Connection<MqEntry>, life: Lifetime): void {
  const query = life.live(mq, topic(0), { limit: SHOWN });
  const list = h('ol', { class: 'log', 'data-testid': 'mq-lines' });
  const scroller = h('div', { class: 'scroll log-scroll' }, list);
  const badge = h('span');
  const select = h(
    'select',
    {
      'data-testid': 'mq-topic',
      title: 'Moves the live query: the server sends only this exchange and pattern',
      onchange: (e: Event) => query.setParams(topic(Number((e.target as HTMLSelectElement).value))),
    },
    ...TOPICS.map(([exchange, key], i) => h('option', { value: i }, `${exchange} ${key}`)),
  );
  const count = h('span', { class: 'count', 'data-testid': 'mq-count' });
  mount(root, h('header', {}, h('h2', {}, 'Live mq'), count, badge, select), scroller);

  const render = life.renderer(() => {
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 8;
    const snapshot = query.getSnapshot();
    badge.replaceChildren(updatingNote('mq', snapshot) ?? '', statusBadge('mq', snapshot));
    count.textContent = String(snapshot.data.length);
    markRows(list, snapshot);
    list.replaceChildren(
      ...snapshot.data.map((e) => {
        const payload = (e.payload ?? {}) as { message?: unknown; level?: unknown };
        return h(
          'li',
          { 'data-testid': 'mq-line', 'data-routing-key': String(e.routingKey), class: `level-${String(payload.level ?? '')}` },
          h('span', { class: 'lvl mono' }, String(e.routingKey)),
          h('span', {}, typeof payload.message === 'string' ? payload.message : JSON.stringify(e.payload).slice(0, 160)),
        );
      }),
    );
    if (atBottom) scroller.scrollTop = scroller.scrollHeight;
  });
  life.subscribe(query, render);
  render();
}
