/**
 * `GET /debug/stats` (only with `debugStats: true`, CLI `--debug-stats`): what an operator or a soak test needs
 * to tell a leak from noise — process memory (after a full GC when the process runs with `--expose-gc` and the
 * request asks for it with `?gc=1`), the hub's and the transport's counters, and the own keys of the built-in
 * prototypes, which a prototype-pollution bug would change. Off by default: it reveals internals to whoever can
 * reach the port, so with `authenticate` set a request must pass it (`http-endpoints.ts`).
 */
import type { ConnectionCapsStats } from '../security/connection-caps.js';
import type { Hub, HubStats } from '../hub/hub.js';
import type { QueuedBytesStats } from './queue-budget.js';

/** The transport's counters. */
export interface TransportStats extends ConnectionCapsStats, QueuedBytesStats {
  /** WebSocket connections open: admitted ones, and refused ones until their close completes. */
  webSockets: number;
  /** Connections closed because a message stayed unfinished past `fragmentTimeoutMs`. */
  unfinishedMessages: number;
}

/** The body of `/debug/stats`. */
export interface DebugStats {
  /** `process.memoryUsage()` in bytes. */
  memory: NodeJS.MemoryUsage;
  /** Whether a full GC ran right before `memory` was read. */
  gc: boolean;
  hub: HubStats;
  transport: TransportStats;
  /** Own property names of `Object.prototype`, `Array.prototype`, `Function.prototype` and `String.prototype`. */
  prototypes: Record<'Object' | 'Array' | 'Function' | 'String', string[]>;
}

/** Own keys of the built-in prototypes, sorted (a soak test compares them before and after). */
function prototypeKeys(): DebugStats['prototypes'] {
  const keys = (proto: object) => Reflect.ownKeys(proto).map(String).sort();
  return {
    Object: keys(Object.prototype),
    Array: keys(Array.prototype),
    Function: keys(Function.prototype),
    String: keys(String.prototype),
  };
}

/** Collects the stats; `collect` runs a full GC first when the process exposes one. */
export function debugStats(hub: Hub, transport: TransportStats, collect: boolean): DebugStats {
  const gc = (globalThis as { gc?: () => void }).gc;
  const ran = collect && typeof gc === 'function';
  if (ran) gc();
  return { memory: process.memoryUsage(), gc: ran, hub: hub.stats(), transport, prototypes: prototypeKeys() };
}
