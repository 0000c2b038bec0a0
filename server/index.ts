/**
 * monorail-ws server: what docs/server.md documents — `createServer` and its options, the verifiers, the memory
 * backend, what `server.mongo`/`server.amqp`/`server.hub` hold, the demo data, and the types those use. Modules
 * that only tests need are imported by the tests from their own files.
 */
export { createServer, type MonorailServer } from './server.js';
export type { AmqpOptions, ServerOptions, ServerResumeOptions } from './options.js';
export { bearerToken, bearerVerifier, jwtVerifier, type Authenticate, type JwtVerifierOptions } from './security/auth.js';
export type { RateLimit } from './security/limits.js';
export type { OriginCheck } from './security/origin.js';
export type { TransportOptions } from './ws/options.js';
export type { SlowConsumerLimits } from './ws/backpressure.js';
export type { DebugStats, TransportStats } from './ws/debug-stats.js';
export { MissingPackageError, type OptionalPackage } from './hub/optional-packages.js';
export { MemoryBackend, type MemoryBackendOptions } from './sources/memory.js';
export { MongoSource, type MongoOptions, type MongoSourceOptions } from './sources/mongo.js';
export { AmqpLink, type AmqpLinkOptions, type ReconnectOptions, type LinkState } from './feeds/amqp-link.js';
export { AmqpFeed, type AmqpFeedOptions, type AmqpFeedStats } from './feeds/amqp-feed.js';
export { AmqpStream, type StreamOptions } from './feeds/amqp-stream.js';
export { Hub, type HubOptions, type HubStats, type AcceptInfo, type Authorize, type BroadcastSkip, type ResumeOptions } from './hub/hub.js';
export { Timeline } from './hub/positions.js';
export type { Resumer } from './hub/resume.js';
export { HubConnection, type HubConnectionEvents } from './hub/hub-connection.js';
export type { HubSocket, SocketEvents } from './hub/socket.js';
export { DEFAULT_CHANNELS, type ChannelSpec } from './hub/channels.js';
export { MqService, type MqOptions, type MqMessage, type MqEntry } from './hub/mq.js';
export { SourceUnavailableError, type Source, type Change, type ChangeFeed } from './hub/source.js';
export { silentLogger, type Logger, type LogFields } from './hub/logger.js';
export { lineLogger } from './cli/line-logger.js';
export { demoFixtures, makeNode, makeWorkflow, makeCatalog, makePoller, makeLog, makeEvent } from './demo/fixtures.js';
