/**
 * The live `mq` stream: RackHD's raw RabbitMQ messages as the SDK's append-only `mq` channel delivers them — by
 * default every `on.logging` line (`routingKey: '#'`), or one exchange and topic pattern chosen here. On the mock and
 * on a server without a broker, the stream is the backend's own logs and events in RackHD's formats.
 *
 * The one pane still on the seed API (`watch`, `stop`, the channel's store): an `mq` watch's `routingKey` is an AMQP
 * topic pattern (`#`, `graph.#`), which the client's `matches` reads as an equal value, so a live query on a pattern
 * would hold its `list` but none of the entries that follow. The store keeps every entry of the channel's watches.
 */
import type { Connection, Filter, MqEntry } from '../../../client/index.js';
import { h, mount } from '../dom.js';
import type { Lifetime } from '../live.js';

const SHOWN = 200;
/** The topics offered: the exchange and the routing-key pattern. */
const TOPICS: ReadonlyArray<readonly [string, string]> = [
  ['on.logging', '#'],
  ['on.logging', 'error'],
  ['on.events', '#'],
  ['on.events', 'graph.#'],
];

export function mqView(root: HTMLElement, mq: Connection<MqEntry>, life: Lifetime): void {
  let watching: Filter<MqEntry> = { exchange: TOPICS[0]![0], routingKey: TOPICS[0]![1] };
  const list = h('ol', { class: 'log', 'data-testid': 'mq-lines' });
  const scroller = h('div', { class: 'scroll log-scroll' }, list);
  const select = h(
    'select',
    {
      'data-testid': 'mq-topic',
      onchange: (e: Event) => {
        const [exchange, routingKey] = TOPICS[Number((e.target as HTMLSelectElement).value)]!;
        mq.stop(watching);
        watching = { exchange, routingKey };
        mq.watch(watching);
        render();
      },
    },
    ...TOPICS.map(([exchange, key], i) => h('option', { value: i }, `${exchange} ${key}`)),
  );
  const count = h('span', { class: 'count', 'data-testid': 'mq-count' });
  mount(root, h('header', {}, h('h2', {}, 'Live mq'), count, select), scroller);

  const render = life.renderer(() => {
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 8;
    const entries = mq.store.getSnapshot().filter((e) => e.exchange === watching.exchange);
    count.textContent = String(entries.length);
    list.replaceChildren(
      ...entries.slice(-SHOWN).map((e) => {
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
  life.add(mq.store.subscribe(render));
  mq.watch(watching);
  life.add(() => mq.stop(watching));
  render();
}
