/**
 * The options of `createServer` (and of `monorail-ws serve`, which builds them from its flags), and how they become
 * the hub's: `ServerOptions` with its parts `AmqpOptions` and `ServerResumeOptions`, then `hubOptions`, which passes
 * on what an application set and leaves the rest to the hub's defaults. The wiring itself is `createServer`'s
 * (server/server.ts).
 */
import { DEFAULTS, type Doc, type InputBudget } from '../protocol/index.js';
import type { ReconnectOptions } from './feeds/amqp-link.js';
import type { StreamOptions } from './feeds/amqp-stream.js';
import type { ChannelSpec } from './hub/channels.js';
import type { Authorize, CostLimits, HubOptions, ResumeOptions } from './hub/hub.js';
import type { Logger } from './hub/logger.js';
import type { MqOptions } from './hub/mq.js';
import type { ChangeFeed, Source } from './hub/source.js';
import type { MemoryBackend } from './sources/memory.js';
import type { MongoOptions } from './sources/mongo.js';
import type { TransportOptions } from './ws/options.js';

/** The RabbitMQ settings of `createServer({amqp})` and `--amqp`. */
export interface AmqpOptions {
  /** `amqp://user:pass@host:5672/vhost`. */
  url: string;
  /**
   * Prefixed to every exchange name, so several deployments or test runs share one broker.
   * @default '' (RackHD's own `on.waterline`, `on.events`, `on.logging`)
   */
  exchangePrefix?: string;
  /**
   * Reconnect delays after the broker was lost.
   * @default { baseMs: 500, maxMs: 10000 }
   */
  reconnect?: ReconnectOptions;
  /**
   * Unacknowledged messages the broker may push ahead of the server.
   * @default 256
   */
  prefetch?: number;
  /**
   * With `resume`: the RabbitMQ stream every instance shares, whose offsets are the positions (its name and
   * retention: `StreamOptions`). `false`: no stream; each instance then numbers positions itself, and a client that
   * fails over to another instance gets a full `list`.
   * @default {} (`DEFAULTS.stream`)
   */
  stream?: StreamOptions | false;
}

/** `createServer({resume})`: the history's bounds, the progress interval and the wait (the timeline is the server's). */
export type ServerResumeOptions = Omit<ResumeOptions, 'timeline'>;

/**
 * Options of `createServer`; the security and robustness ones are documented on `TransportOptions`, the bounds on
 * what one connection's requests cost (`maxInValues`, `maxWatchBytes`, `maxReadsInFlight`, `maxReadBytes`, `maxListBytes`) on
 * `CostLimits`.
 */
export interface ServerOptions extends TransportOptions, CostLimits {
  /**
   * TCP port; 0 picks a free one.
   * @default 9100
   */
  port?: number;
  /**
   * Interface to bind. The default accepts only local connections.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Channels served (RackHD's by default).
   * @default DEFAULT_CHANNELS
   */
  resources?: readonly ChannelSpec[];
  /**
   * The embedded memory backend to use; one is created (seeded with `seed`) when no `source` is given.
   */
  backend?: MemoryBackend;
  /**
   * Initial records for the created memory backend.
   * @default demoFixtures() (RackHD-shaped demo nodes, workflows, SKUs, catalogs, pollers, logs, events)
   */
  seed?: Readonly<Record<string, readonly Doc[]>>;
  /** Snapshot source other than the memory backend and MongoDB (then `mongo` is ignored). */
  source?: Source;
  /**
   * Read RackHD's collections from MongoDB: every channel with a `collection` (nodes, catalogs, skus, workflows
   * = `graphobjects`, pollers = `workitems`, graph and task definitions, templates, profiles, files, lookups).
   * `logs` and `events` stay in memory (the last N per subject), filled from RabbitMQ.
   * @default none: everything from the memory backend
   */
  mongo?: MongoOptions;
  /**
   * Follow RackHD's RabbitMQ exchanges (`on.waterline`, `on.events`, `on.logging`) and broadcast across instances.
   * @default none: changes come only from the memory backend's own writes
   */
  amqp?: AmqpOptions;
  /**
   * This instance's id: names its RabbitMQ connection (`monorail-ws <id>`) and queue.
   * @default 12 random hex digits
   */
  instanceId?: string;
  /** Change feeds besides the backend's own writes (RabbitMQ). */
  feeds?: readonly ChangeFeed[];
  /**
   * Largest accepted frame in bytes; larger frames close the connection with 1009.
   * @default DEFAULTS.maxPayload (1 MiB)
   */
  maxPayload?: number;
  /**
   * The parse-time budget of every client frame: nesting depth, keys plus array elements, string and key
   * lengths. Checked right after `JSON.parse`, before anything else reads the frame; over it: `error` `too-large`,
   * the connection stays open. Fields left out keep their default.
   * @default DEFAULTS.inputBudget (`{maxDepth: 32, maxNodes: 20,000, maxStringLength: 65,536, maxKeyLength: 1,024}`)
   */
  inputBudget?: Partial<InputBudget>;
  /**
   * Most items per `list`.
   * @default DEFAULTS.maxListItems (10,000)
   */
  maxListItems?: number;
  /**
   * Most watches per connection.
   * @default DEFAULTS.maxWatches (100)
   */
  maxWatches?: number;
  /**
   * Identical snapshot reads (same channel and params) reach the source at most once per this many ms; requests
   * in between wait for and share the next read (a reconnect storm costs one read per distinct params per
   * window). 0 shares only reads already in flight.
   * @default DEFAULTS.coalesceWindowMs (50)
   */
  coalesceWindowMs?: number;
  /**
   * Authorization: `authorize(principal, channel, handler, params)` for every request (a refusal is an `error`
   * with code `forbidden`), and once per connection with handler `'connect'` and params `{}` for the channel in
   * the URL (a refusal closes it with 4403).
   * @default allow everything
   */
  authorize?: Authorize;
  /**
   * The `mq` channel: `exchanges` open to it (RackHD's names; any other is `forbidden`), `historyLimit` recent
   * messages listed to a new watch.
   * @default {exchanges: DEFAULTS.mqExchanges, historyLimit: DEFAULTS.historyLimit}
   */
  mq?: MqOptions;
  /**
   * Positions and resume (PROTOCOL.md "Positions and resume"): frames carry positions, a quiet watch gets `progress`,
   * and a client that re-watches with its last position gets what it missed instead of a new `list` — from this
   * instance's history, or with `amqp`, from the RabbitMQ stream every instance shares (`amqp.stream`), so on any
   * instance. Channels whose spec says `resume: false` (pollers, lookups) always re-snapshot.
   * @default false
   */
  resume?: boolean | ServerResumeOptions;
  /** Structured logger. @default silent */
  logger?: Logger;
}

/** The bounds on a connection's requests that `createServer` hands to the hub as they are, when set. */
const HUB_BOUNDS = [
  'maxListItems',
  'maxWatches',
  'maxInValues',
  'maxWatchBytes',
  'maxReadsInFlight',
  'maxReadBytes',
  'maxListBytes',
] as const;

/**
 * The hub's options that come from `options` as they are: the bounds, `authorize` and `mq` that are set (the hub
 * applies `DEFAULTS` to the others), and the coalescing window, which a server opens by default (a hub alone does not).
 */
export function hubOptions(options: ServerOptions): Partial<HubOptions> {
  const out: Partial<HubOptions> = { coalesceWindowMs: options.coalesceWindowMs ?? DEFAULTS.coalesceWindowMs };
  for (const name of HUB_BOUNDS) if (options[name] !== undefined) out[name] = options[name];
  if (options.authorize) out.authorize = options.authorize;
  if (options.mq) out.mq = options.mq;
  return out;
}
