/**
 * monorail-ws/mock: an in-memory monorail-ws server on mock-socket, for UI development offline and for tests. It is
 * the server's own hub and memory backend, so the client behaves against it exactly as against the real server.
 * Browser-safe. Nothing global is patched unless `installGlobalWebSocket` is called.
 */
export { createMockServer, installGlobalWebSocket, type MockServer, type MockServerOptions } from './mock-server.js';
export {
  MockWebSocket,
  type MockCloseEvent,
  type MockErrorEvent,
  type MockEvent,
  type MockListener,
  type MockMessageEvent,
  type MockWebSocketConstructor,
} from './websocket.js';
export {
  defaultFixtures,
  makeCatalog,
  makeEvent,
  makeLog,
  makeNode,
  makePoller,
  makeWorkflow,
  objectId,
  SKUS,
  uuid,
} from './fixtures.js';
export { startDemo, type Demo, type DemoOptions, type DemoTarget } from '../server/demo/simulator.js';
export type { Doc, Params } from '../protocol/index.js';
export type { ChannelSpec } from '../server/hub/channels.js';
export type { Hub, HubStats } from '../server/hub/hub.js';
export type { MemoryBackend } from '../server/sources/memory.js';
