/**
 * RackHD's RabbitMQ formats (on-core `lib/protocol/*`): which exchange and routing keys feed which channel, and
 * how one broker message becomes a record. Pure functions over text, no broker and no I/O, so every malformed
 * case is unit-tested without RabbitMQ.
 *
 * - `on.waterline`, routing key `<collection>.<created|updated|destroyed>.<id>`, payload `{event, record}`.
 * - `on.events`, routing key `<type>.<action>.<severity>.<typeId>[.<nodeId>]` (an action may itself contain a
 *   dot: `graph.progress.updated.information.<id>.<node>`), payload `{type, action, typeId, nodeId, severity,
 *   data, version, createdAt}`. RackHD also publishes internal messages on this exchange (`graph.started.<id>`,
 *   `task.finished`, `tftp.success.<node>` …) that are not in this format; they are legitimate traffic, ignored.
 * - `on.logging`, routing key = level, payload a LogEvent `{package, host, module, level, message, context,
 *   timestamp, caller, subject}` (subject = node id or `server`).
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

/** The three waterline events. */
export type WaterlineEvent = 'created' | 'updated' | 'destroyed';
const WATERLINE_EVENTS: ReadonlySet<string> = new Set(['created', 'updated', 'destroyed']);

/** What a broker message means. */
export type RackhdMessage =
  /** A record of a collection channel was created, updated or destroyed. */
  | { readonly kind: 'waterline'; readonly channel: string; readonly event: WaterlineEvent; readonly id: string; readonly record: Doc }
  /**
   * A RackHD event (for the `events` channel, id derived from content). `graphStatus` is set for `graph`
   * events that say what state a workflow is in now.
   */
  | { readonly kind: 'event'; readonly entry: Doc; readonly graphStatus?: { readonly instanceId: string; readonly status: string } }
  /** A LogEvent (for the `logs` channel, id derived from content). */
  | { readonly kind: 'log'; readonly entry: Doc }
  /** Legitimate RackHD traffic this server does not map to a channel. */
  | { readonly kind: 'ignored'; readonly reason: string };

/** A message that is not what its exchange carries: not JSON, wrong shape, unknown collection. */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

function malformed(message: string): never {
  throw new MalformedMessageError(message);
}

function parseJsonObject(text: string): { [key: string]: JsonValue } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    malformed('payload is not JSON');
  }
  if (!isPlainObject(value)) malformed('payload is not a JSON object');
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
  if (!spec) malformed(`unknown collection "${collection}"`);
  const payload = parseJsonObject(text);
  const event = typeof payload.event === 'string' ? payload.event : keyEvent;
  if (!WATERLINE_EVENTS.has(event)) malformed(`unknown waterline event "${event}"`);
  if (WATERLINE_EVENTS.has(keyEvent) && keyEvent !== event) malformed(`routing key says "${keyEvent}", payload says "${event}"`);
  if (!isPlainObject(payload.record)) malformed('payload has no record object');
  const record = normaliseRecord(payload.record as { [key: string]: JsonValue });
  let raw = record[spec.idField];
  // A destroyed record may arrive trimmed; the routing key still names it when the id field is `id`.
  if (raw === undefined && spec.idField === 'id' && keyId !== '') raw = keyId;
  if (typeof raw !== 'string' && typeof raw !== 'number') malformed(`record has no "${spec.idField}"`);
  if (raw === '') malformed(`record has an empty "${spec.idField}"`);
  return { kind: 'waterline', channel: spec.name, event: event as WaterlineEvent, id: String(raw), record };
}

/** Parses an `on.events` message. */
export function parseEvent(routingKey: string, text: string): RackhdMessage {
  const payload = parseJsonObject(text);
  const { type, action, typeId, severity } = payload;
  if (typeof type !== 'string' || typeof action !== 'string' || typeof typeId !== 'string' || typeof severity !== 'string') {
    return { kind: 'ignored', reason: `not a RackHD event (${routingKey.split('.').slice(0, 2).join('.')})` };
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
  if (typeof payload.message !== 'string') malformed('log event has no message');
  const level = typeof payload.level === 'string' ? payload.level : routingKey;
  if (level === '') malformed('log event has no level');
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

/** A RackHD-format waterline message (for publishers: scripts, tests, simulators). */
export function waterlineMessage(collection: string, event: WaterlineEvent, record: Doc): { routingKey: string; payload: Doc } {
  return { routingKey: `${collection}.${event}.${String(record.id)}`, payload: { event, record } };
}

/** A RackHD-format event message (on-core `publishExternalEvent`). */
export function eventMessage(event: Doc): { routingKey: string; payload: Doc } {
  const parts = [event.type, event.action, event.severity, event.typeId].map(String);
  if (typeof event.nodeId === 'string' && event.nodeId !== '') parts.push(event.nodeId);
  return { routingKey: parts.join('.'), payload: event };
}
