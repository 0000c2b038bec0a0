/**
 * RackHD's RabbitMQ formats (on-core `lib/protocol/*`): which exchange and routing keys feed which channel, and
 * how one broker message becomes a record. Pure functions over text, no broker and no I/O, so every malformed
 * case is unit-tested without RabbitMQ.
 *
 * - `on.waterline`, routing key `<collection>.<event>.<id>`, payload `{event, record}` (on-core
 *   `lib/protocol/waterline.js` publishRecord). Events: `created`, `updated`, `destroyed` from the models'
 *   after-hooks, and `tag-added`/`tag-removed` (`lib/models/node.js` addTags/remTags), which carry the full node
 *   and mean "updated". The routing key's last word is the record's id in the channel's terms (graphobjects: the
 *   instanceId, `lib/common/model.js` publishRecord). A record without the channel's id field is *partial*: the
 *   task-graph store publishes `{_id, _status, error}` on every task state change (`lib/workflow/stores/mongo.js`
 *   publishRecordByGraphId); it must be merged into the known record, never sent as a whole one.
 * - `on.events`, routing key `<type>.<action>.<severity>.<typeId>[.<nodeId>]` (an action may itself contain a
 *   dot: `graph.progress.updated.information.<id>.<node>`), payload `{type, action, typeId, nodeId, severity,
 *   data, version, createdAt}`. on-core also still publishes the 1.x keys `graph.started.<graphId>` and
 *   `graph.finished.<graphId>` with `{graphId, graphName, status}` right before the 2016+ event for the same graph
 *   (`lib/protocol/events.js` publishGraphStarted/publishGraphFinished): they carry a workflow status but are no
 *   `events` entry (that would list each graph event twice). Other internal keys (`task.finished.<id>`,
 *   `sku.assigned.<node>` …) are legitimate traffic the channels do not map.
 * - `on.logging`, routing key = level, payload a LogEvent `{name, host, module, level, message, context,
 *   timestamp, caller, subject}` (subject = node id or `Server`; `lib/common/logger.js`, published by
 *   `lib/services/log-publisher.js`).
 */
import { isPlainObject, type Doc, type JsonValue } from '../../protocol/index.js';
import type { ChannelRegistry, ChannelSpec } from '../hub/channels.js';
import { contentId } from '../hub/ids.js';

/** RackHD's exchanges (topic, durable), before any `--exchange-prefix`. */
export const RACKHD_EXCHANGES = {
  waterline: 'on.waterline',
  events: 'on.events',
  logging: 'on.logging',
} as const;

export type RackhdExchange = keyof typeof RACKHD_EXCHANGES;

/** One queue binding: an exchange (by role) and a routing-key pattern. */
export interface Binding {
  readonly exchange: RackhdExchange;
  readonly pattern: string;
}

/**
 * Bindings besides the waterline one. `graph.#`, not `graph.*`: RackHD's graph event keys have 4–6 words.
 */
const EXTRA_BINDINGS: Readonly<Record<string, readonly Binding[]>> = {
  workflows: [{ exchange: 'events', pattern: 'graph.#' }],
  logs: [{ exchange: 'logging', pattern: '#' }],
  events: [{ exchange: 'events', pattern: '#' }],
};

/** The bindings that carry a channel's changes (docs/rackhd.md "Channels"). */
export function channelBindings(spec: ChannelSpec): Binding[] {
  const out: Binding[] = [];
  if (spec.waterline) out.push({ exchange: 'waterline', pattern: `${spec.waterline}.*.*` });
  out.push(...(EXTRA_BINDINGS[spec.name] ?? []));
  return out;
}

/** What a waterline message does to its record. */
export type WaterlineEvent = 'created' | 'updated' | 'destroyed';
/** Every event on-core publishes on `on.waterline`. */
export type WaterlineEventName = WaterlineEvent | 'tag-added' | 'tag-removed';
/** What each event does: a tag operation updates the node. */
const WATERLINE_EVENTS: Readonly<Record<WaterlineEventName, WaterlineEvent>> = {
  created: 'created',
  updated: 'updated',
  destroyed: 'destroyed',
  'tag-added': 'updated',
  'tag-removed': 'updated',
};
const isWaterlineEvent = (event: string): boolean => Object.hasOwn(WATERLINE_EVENTS, event);

/** What a broker message means. */
export type RackhdMessage =
  /**
   * A record of a collection channel was created, updated or destroyed. `partial`: the record lacks the channel's
   * id field (its id came from the routing key) and only carries the fields that changed.
   */
  | {
      readonly kind: 'waterline';
      readonly channel: string;
      readonly event: WaterlineEvent;
      readonly id: string;
      readonly record: Doc;
      readonly partial: boolean;
    }
  /**
   * A RackHD event (for the `events` channel, id derived from content). `graphStatus` is set for `graph`
   * events that say what state a workflow is in now.
   */
  | { readonly kind: 'event'; readonly entry: Doc; readonly graphStatus?: { readonly instanceId: string; readonly status: string } }
  /** A 1.x graph key (`graph.started.<id>`, `graph.finished.<id>`): a workflow's status, no `events` entry. */
  | { readonly kind: 'status'; readonly instanceId: string; readonly status: string }
  /** A LogEvent (for the `logs` channel, id derived from content). */
  | { readonly kind: 'log'; readonly entry: Doc }
  /** Legitimate RackHD traffic this server does not map to a channel. */
  | { readonly kind: 'ignored'; readonly reason: string; readonly key: string };

/** A message that is not what its exchange carries: not JSON, wrong shape, unknown collection. */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
  /** @param kind A stable word for what is wrong (logs are throttled per kind, not per message). */
  constructor(
    message: string,
    readonly kind: string,
  ) {
    super(message);
  }
}

function malformed(message: string, kind: string): never {
  throw new MalformedMessageError(message, kind);
}

function parseJsonObject(text: string): { [key: string]: JsonValue } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    malformed('payload is not JSON', 'not-json');
  }
  if (!isPlainObject(value)) malformed('payload is not a JSON object', 'not-object');
  return value as { [key: string]: JsonValue };
}

/**
 * Turns extended-JSON wrappers (`{"$oid": …}`, `{"$date": …}`) into the strings the sources use, and a record's
 * `_id` into `id`, so a record from the broker looks exactly like the same record read from MongoDB.
 */
export function normaliseRecord(record: { [key: string]: JsonValue }): Doc {
  const out: Doc = {};
  const { _id, ...rest } = record;
  if (_id !== undefined && rest.id === undefined) out.id = normaliseJson(_id);
  else if (_id !== undefined) out._id = normaliseJson(_id);
  for (const [k, v] of Object.entries(rest)) out[k] = normaliseJson(v);
  return out;
}

function normaliseJson(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(normaliseJson);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const inner = value[keys[0]!];
    if (keys[0] === '$oid' && typeof inner === 'string') return inner.toLowerCase();
    if (keys[0] === '$date') {
      const raw = isPlainObject(inner) && typeof inner.$numberLong === 'string' ? Number(inner.$numberLong) : inner;
      const date = typeof raw === 'string' || typeof raw === 'number' ? new Date(raw) : undefined;
      if (date && !Number.isNaN(date.getTime())) return date.toISOString();
    }
  }
  const out: { [key: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(value)) out[k] = normaliseJson(v);
  return out;
}

/** Parses an `on.waterline` message. */
export function parseWaterline(routingKey: string, text: string, registry: ChannelRegistry): RackhdMessage {
  const [collection = '', keyEvent = '', ...rest] = routingKey.split('.');
  const keyId = rest.join('.');
  const spec = registry.byWaterline(collection);
  if (!spec) malformed(`unknown collection "${collection}"`, 'unknown-collection');
  const payload = parseJsonObject(text);
  const name = typeof payload.event === 'string' ? payload.event : keyEvent;
  if (!isWaterlineEvent(name)) malformed(`unknown waterline event "${name}"`, 'unknown-event');
  if (isWaterlineEvent(keyEvent) && keyEvent !== name)
    malformed(`routing key says "${keyEvent}", payload says "${name}"`, 'event-mismatch');
  if (!isPlainObject(payload.record)) malformed('payload has no record object', 'no-record');
  const event = WATERLINE_EVENTS[name as WaterlineEventName];
  const record = normaliseRecord(payload.record as { [key: string]: JsonValue });
  let raw = record[spec.idField];
  // Without its id field the record is trimmed (destroyed) or partial (updated); the routing key names it.
  const partial = raw === undefined && event === 'updated';
  if (raw === undefined && event !== 'created' && keyId !== '') raw = keyId;
  if (typeof raw !== 'string' && typeof raw !== 'number') malformed(`record has no "${spec.idField}"`, 'no-id');
  if (raw === '') malformed(`record has an empty "${spec.idField}"`, 'no-id');
  return { kind: 'waterline', channel: spec.name, event, id: String(raw), record, partial };
}

/** The 1.x graph keys on-core still publishes next to the 2016+ events: `graph.<action>.<graphId>`. */
const LEGACY_GRAPH_KEY = /^graph\.(started|finished)\.([^.]+)$/;

/** Parses an `on.events` message. */
export function parseEvent(routingKey: string, text: string): RackhdMessage {
  const payload = parseJsonObject(text);
  const { type, action, typeId, severity } = payload;
  if (typeof type !== 'string' || typeof action !== 'string' || typeof typeId !== 'string' || typeof severity !== 'string') {
    const legacy = LEGACY_GRAPH_KEY.exec(routingKey);
    const status = typeof payload.status === 'string' ? payload.status : legacy?.[1] === 'started' ? 'running' : undefined;
    if (legacy && status !== undefined) return { kind: 'status', instanceId: legacy[2]!, status };
    const key = routingKey.split('.').slice(0, 2).join('.');
    return { kind: 'ignored', reason: `not a RackHD event (${key})`, key };
  }
  const entry = normaliseRecord(payload);
  entry.id = contentId(entry);
  if (type === 'graph') {
    const data = isPlainObject(payload.data) ? payload.data : {};
    const status = typeof data.status === 'string' ? data.status : action === 'started' ? 'running' : undefined;
    if (status !== undefined && (action === 'started' || action === 'finished')) {
      return { kind: 'event', entry, graphStatus: { instanceId: typeId, status } };
    }
  }
  return { kind: 'event', entry };
}

/** Parses an `on.logging` message; the routing key is the level. */
export function parseLog(routingKey: string, text: string): RackhdMessage {
  const payload = parseJsonObject(text);
  if (typeof payload.message !== 'string') malformed('log event has no message', 'no-message');
  const level = typeof payload.level === 'string' ? payload.level : routingKey;
  if (level === '') malformed('log event has no level', 'no-level');
  const entry = normaliseRecord({ ...payload, level });
  entry.id = contentId(entry);
  return { kind: 'log', entry };
}

/**
 * Parses a message from one of RackHD's exchanges.
 * @throws MalformedMessageError when it is not what the exchange carries.
 */
export function parseRackhdMessage(exchange: RackhdExchange, routingKey: string, text: string, registry: ChannelRegistry): RackhdMessage {
  switch (exchange) {
    case 'waterline':
      return parseWaterline(routingKey, text, registry);
    case 'events':
      return parseEvent(routingKey, text);
    case 'logging':
      return parseLog(routingKey, text);
  }
}

/**
 * A RackHD-format waterline message (for publishers: scripts, tests, simulators), as on-core's
 * `lib/protocol/waterline.js` publishRecord builds it. `id` is the routing key's id: the record's `id` unless the
 * model names another (graphobjects: the instanceId).
 */
export function waterlineMessage(
  collection: string,
  event: WaterlineEventName,
  record: Doc,
  id: unknown = record.id,
): { routingKey: string; payload: Doc } {
  return { routingKey: `${collection}.${event}.${String(id)}`, payload: { event, record } };
}

/** A RackHD-format event message (on-core `publishExternalEvent`). */
export function eventMessage(event: Doc): { routingKey: string; payload: Doc } {
  const parts = [event.type, event.action, event.severity, event.typeId].map(String);
  if (typeof event.nodeId === 'string' && event.nodeId !== '') parts.push(event.nodeId);
  return { routingKey: parts.join('.'), payload: event };
}
