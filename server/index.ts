/** monorail-ws server: `createServer`, the hub, the memory backend and the channel table. */
export { createServer, type AmqpOptions, type MonorailServer, type ServerOptions } from './server.js';
export { MongoSource, toMongoFilter, normaliseDocument, dbNameFromUrl, type MongoOptions } from './sources/mongo.js';
export { AmqpLink, type AmqpLinkOptions, type ReconnectOptions, type LinkState } from './feeds/amqp-link.js';
export { AmqpFeed, type AmqpFeedOptions, type AmqpFeedStats } from './feeds/amqp-feed.js';
export { Broadcaster, BROADCAST_EXCHANGE, type BroadcasterOptions } from './feeds/broadcast.js';
export {
  RACKHD_EXCHANGES,
  channelBindings,
  parseRackhdMessage,
  waterlineMessage,
  eventMessage,
  MalformedMessageError,
  type RackhdExchange,
  type RackhdMessage,
  type Binding,
  type WaterlineEvent,
} from './feeds/rackhd.js';
export { Hub, type HubOptions, type HubStats, type HubTimers, type AcceptInfo, type Authorize, type BroadcastSkip } from './hub/hub.js';
export { HubConnection, type HubConnectionEvents } from './hub/hub-connection.js';
export { SharedFrame, type HubSocket, type SocketEvents } from './hub/socket.js';
export { MemoryBackend, type MemoryBackendOptions } from './sources/memory.js';
export { ChannelRegistry, DEFAULT_CHANNELS, type ChannelSpec } from './hub/channels.js';
export { SourceUnavailableError, type Source, type Change, type ChangeFeed } from './hub/source.js';
export { silentLogger, type Logger, type LogFields } from './hub/logger.js';
export { lineLogger } from './cli/line-logger.js';
export { demoFixtures, makeNode, makeWorkflow, makeCatalog, makePoller, makeLog, makeEvent, objectId, uuid, SKUS } from './demo/fixtures.js';
export { contentId, fnv1a64 } from './hub/ids.js';
export { type TransportOptions } from './ws/options.js';
export { type DebugStats, type TransportStats } from './ws/debug-stats.js';
export { bearerToken, bearerVerifier, jwtVerifier, type Authenticate, type JwtVerifierOptions } from './security/auth.js';
export { LOOPBACK_ORIGINS, isLoopbackHost, originAllowlist, parseOriginPattern, type OriginCheck } from './security/origin.js';
export { TokenBucket, ConnectionCounter, type RateLimit } from './security/limits.js';
export { SlowConsumerGuard, type SlowConsumerLimits } from './ws/backpressure.js';
export { handleShutdownSignals, type ShutdownOptions } from './cli/shutdown.js';
