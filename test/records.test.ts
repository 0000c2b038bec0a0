/**
 * The record types of `protocol/records.ts` against what the server really sends (issue 13, "Typed records"): every
 * demo fixture, and every record frame of every channel — the seed, then what the demo simulator writes, and the
 * `mq` messages the memory backend's logs and events become — has only the top-level keys its type declares, and
 * every key its type requires. The declared keys come from test/support/record-keys.ts, which the compiler holds
 * equal to the types.
 */
import WebSocket from 'isomorphic-ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type Connection } from '../client/index.js';
import { defaultFixtures } from '../mock/index.js';
import { CHANNELS, type ChannelName, type Doc, type LogLevel, type ServerMessage } from '../protocol/index.js';
import { demoFixtures } from '../server/demo/fixtures.js';
import { startDemo } from '../server/demo/simulator.js';
import { mqFromChange } from '../server/hub/mq.js';
import { createServer, MemoryBackend } from '../server/index.js';
import { keyMismatch, RECORD_KEYS } from './support/record-keys.js';
import { waitFor } from './support/wait.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const CHANNEL_NAMES = Object.keys(CHANNELS) as ChannelName[];
const isChannel = (name: string): name is ChannelName => Object.hasOwn(CHANNELS, name);

describe('record types', () => {
  it('name every channel of the server', () => {
    expect(Object.keys(RECORD_KEYS).sort()).toEqual([...CHANNEL_NAMES].sort());
  });

  it("cover every demo fixture record: no key the type lacks, every key it requires (an entry's id is the server's)", () => {
    const fixtures = defaultFixtures();
    expect(Object.keys(fixtures).length).toBeGreaterThanOrEqual(13);
    const problems: string[] = [];
    for (const [channel, records] of Object.entries(fixtures)) {
      if (!isChannel(channel)) {
        problems.push(`${channel}: a fixture channel with no record type`);
        continue;
      }
      expect(records.length, channel).toBeGreaterThan(0);
      const exempt = CHANNELS[channel].appendOnly ? ['id'] : [];
      for (const record of records) problems.push(...keyMismatch(channel, record, exempt));
    }
    expect(problems).toEqual([]);
  });

  it('cover every record the server sends on every channel, seeded and while the demo simulator runs', async () => {
    const backend = new MemoryBackend({ seed: demoFixtures() });
    // What the memory backend puts on the mq channel: counted as the backend emits it, to know when all arrived.
    let mqExpected = 0;
    backend.onChange((change) => {
      mqExpected += mqFromChange(change).length;
    });
    const server = await createServer({ port: 0, backend });
    cleanup.push(() => server.close());
    const client = createClient({
      url: server.url,
      channels: CHANNEL_NAMES,
      WebSocket,
      heartbeat: false,
      backoff: { baseMs: 5, maxMs: 50 },
    });
    cleanup.push(() => client.disconnect());

    const received = new Map<ChannelName, Doc[]>(CHANNEL_NAMES.map((c) => [c, []]));
    const record = (channel: ChannelName, m: ServerMessage): void => {
      if (m.handler === 'list') received.get(channel)!.push(...m.items);
      if (m.handler === 'item') received.get(channel)!.push(m.data);
    };
    for (const channel of CHANNEL_NAMES) {
      const connection: Connection<object> = client.channel(channel);
      connection.events.on('message', (m) => record(channel, m));
    }
    for (const channel of CHANNEL_NAMES) if (channel !== 'mq') client.channel(channel).watch({});
    client.channels.mq.watch({ exchange: 'on.logging', routingKey: '#' });
    client.channels.mq.watch({ exchange: 'on.events', routingKey: '#' });
    const count = (channel: ChannelName) => received.get(channel)!.length;
    const seeded = (channel: ChannelName) => backend.all(channel).length;
    await waitFor(() => CHANNEL_NAMES.every((c) => c === 'mq' || count(c) === seeded(c)), undefined, 'every seeded record listed');

    const before = new Map(CHANNEL_NAMES.map((c) => [c, count(c)]));
    const demo = startDemo(backend, { seed: 13, timers: { setInterval: () => 0, clearInterval: () => undefined } });
    for (let i = 0; i < 80; i++) demo.step();
    demo.stop();
    await waitFor(
      () => CHANNEL_NAMES.every((c) => c === 'mq' || client.channel(c).store.size === backend.all(c).length),
      undefined,
      "every store equal in size to the backend's",
    );
    await waitFor(() => count('mq') === mqExpected, undefined, 'every mq message');

    // The simulator wrote to every channel it knows, so the check below saw new records of each.
    for (const channel of ['nodes', 'catalogs', 'workflows', 'pollers', 'logs', 'events', 'mq'] as const) {
      expect(count(channel), channel).toBeGreaterThan(before.get(channel)!);
    }
    const problems = CHANNEL_NAMES.flatMap((c) => received.get(c)!.flatMap((data) => keyMismatch(c, data)));
    expect([...new Set(problems)]).toEqual([]);
    // `LogLevel` is on-core's closed set (Constants.Logging.Levels): the simulator once logged at 'notice'.
    const levels: readonly LogLevel[] = ['critical', 'error', 'warning', 'info', 'debug'];
    expect(received.get('logs')!.filter((line) => !levels.includes(line.level as LogLevel))).toEqual([]);
  });

  it('catch a record with a key its type lacks, or without a key its type requires', () => {
    const [node] = defaultFixtures().nodes!;
    expect(keyMismatch('nodes', { ...node, rack: 'r1' })).toEqual(['nodes: undeclared key "rack"']);
    const { name: _name, ...nameless } = node!;
    expect(keyMismatch('nodes', nameless)).toEqual(['nodes: missing required key "name"']);
    expect(keyMismatch('logs', { message: 'm' }, ['id'])).toContain('logs: missing required key "level"');
  });
});
