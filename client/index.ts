/**
 * monorail-ws client SDK: `Connection` (one reconnecting socket per channel with a live `Store`, and live queries:
 * `connection.live(params)`), `createClient` (one connection per channel), the backoff policy, and the protocol types
 * an application needs.
 */
export { Connection } from './connection.js';
export type { BackoffOptions, ConnectionOptions, HeartbeatOptions, Timers } from './options.js';
export { Store, type StoreOptions, type WatchMatcher } from './store.js';
export type { LiveError, LiveOptions, LiveQuery, LiveSnapshot, LiveStatus } from './live.js';
export { createClient, type Client, type ClientOptions } from './client.js';
export { hotKeep, type HotContext } from './hot.js';
export type {
  CloseInfo,
  ConnectionError,
  ConnectionEvents,
  ConnectionState,
  Events,
  ReconnectInfo,
} from './events.js';
export type { SocketCloseEvent, TokenOption, WebSocketConstructor, WebSocketLike } from './socket.js';

export {
  CLOSE_CODES,
  CloseCode,
  DEFAULTS,
  ERROR_CODES,
  type ErrorCode,
} from '../protocol/codes.js';
export { channelFromUrl, channelInfo, CHANNELS, type ChannelInfo, type ChannelName } from '../protocol/channels.js';
export { backoffDelay, type BackoffPolicy } from '../protocol/backoff.js';
export { matches } from '../protocol/matches.js';
export { canonicalJson } from '../protocol/params.js';
export type {
  ClientMessage,
  Doc,
  ErrorMessage,
  ErrorRequest,
  ItemMessage,
  JsonValue,
  ListMessage,
  Params,
  PongMessage,
  RemoveMessage,
  ServerMessage,
  SessionMessage,
} from '../protocol/messages.js';
export type { Filter, FilterCondition, FilterOperators, FilterValue } from '../protocol/filter.js';
export type {
  Catalog,
  ChannelRecords,
  File,
  GraphDefinition,
  GraphDefinitionTask,
  IsoDate,
  JsonObject,
  LogContext,
  LogEvent,
  LogLevel,
  Lookup,
  MqEntry,
  Node,
  NodeRelation,
  NodeType,
  Obm,
  ObjectId,
  Poller,
  Profile,
  RackHDEvent,
  RecordOf,
  Renderable,
  Sku,
  SkuRule,
  TaskDefinition,
  TaskState,
  Template,
  Workflow,
  WorkflowProgress,
  WorkflowTask,
} from '../protocol/records.js';
