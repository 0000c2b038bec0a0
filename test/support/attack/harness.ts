/**
 * The attack suite's side of `attack/server.ts`: starts the server under attack in a child process (with a GC the
 * suite can trigger and a heap limit, so a leak ends in a crash here instead of on the machine), asks it for its
 * memory and counters over IPC, and checks that it still serves a normal client.
 */
import { expect } from 'vitest';
import type WebSocket from 'ws';
import { DEFAULTS } from '../../../protocol/index.js';
import { makeNode, type HubStats, type ServerOptions } from '../../../server/index.js';
import { RawClient } from '../raw-client.js';
import { startProcess, type ServerProcess } from '../processes.js';

/** How many nodes the child's seed holds (a normal `query` with `{}` returns exactly these). */
export const ATTACK_SEED_NODES = 4;

/** The requests the child answers over IPC. */
export type AttackRequest =
  /** `process.memoryUsage()` after two full GCs (`--expose-gc`). */
  | { op: 'memory' }
  /** `process.memoryUsage().rss`, without a GC. */
  | { op: 'rss' }
  /** `hub.stats()` (connections, watches, counters). */
  | { op: 'stats' }
  /** Upserts `n` records of about `size` bytes into `channel` (id field `id`), ids `flood-<i % 8>` (the backend stays small). */
  | { op: 'flood'; channel: string; n: number; size: number }
  /** The closes the server sent so far (`SentClose`). */
  | { op: 'closes' };

/** A close the server sent: the peer's port and the code (-1 for a `terminate`, which sends no close frame). */
export interface SentClose {
  port: number | undefined;
  code: number;
}

/** What travels to the child as JSON: `createServer`'s options that are data, and the valid bearer tokens. */
export type AttackServerOptions = Omit<ServerOptions, 'authenticate' | 'authorize' | 'logger' | 'backend' | 'source' | 'feeds'> & {
  /** Valid bearer tokens: the child sets `authenticate` to a `bearerVerifier` that accepts exactly these. */
  tokens?: string[];
  // The bounds of issue 10, passed through whether or not this build knows them yet.
  inputBudget?: Partial<Record<keyof (typeof DEFAULTS)['inputBudget'], number>>;
  maxInValues?: number;
  maxWatchBytes?: number;
  maxReadsInFlight?: number;
  maxListBytes?: number;
  handshakeTimeoutMs?: number;
  fragmentTimeoutMs?: number;
  maxPendingUpgrades?: number;
  maxConnections?: number;
  maxQueuedBytes?: number;
};

/** A child process running `attack/server.ts`. */
export interface AttackServer {
  /** `ws://127.0.0.1:port`. */
  readonly url: string;
  readonly process: ServerProcess;
  /** The bearer token a normal client presents (when the child authenticates). */
  readonly token: string | undefined;
  /** Whether the process is still running. */
  alive(): boolean;
  /**
   * Rejects, with the end of the child's output, once the process exits: a test races what it waits for against
   * it, so an attack that kills the child fails at once and says so, instead of waiting out a reply's timeout.
   */
  readonly death: Promise<never>;
  /** Heap used plus memory outside the heap (buffers), in bytes, after full GCs. */
  memory(): Promise<number>;
  stats(): Promise<HubStats>;
  flood(channel: string, n: number, size: number): Promise<number>;
  closes(): Promise<SentClose[]>;
  /** The WebSocket options a normal client uses: our subprotocol, and the token when there is one. */
  protocols(): string[];
  stop(): Promise<unknown>;
}

/** Options of the child process itself. */
export interface ChildLimits {
  /** `ulimit -n` of the child. @default the parent's */
  fileLimit?: number;
  /** V8's old-space limit in MB: a leak past it crashes the child ("heap out of memory"). @default 256 */
  maxOldSpaceMb?: number;
}

/** Starts `attack/server.ts` with `options` and resolves once it listens. */
export async function startAttackServer(options: AttackServerOptions = {}, limits: ChildLimits = {}): Promise<AttackServer> {
  const seed = { nodes: Array.from({ length: ATTACK_SEED_NODES }, (_, i) => makeNode(i)) };
  const proc = await startProcess(['test/support/attack/server.ts', JSON.stringify({ seed, ...options })], {
    ipc: true,
    nodeFlags: ['--expose-gc', `--max-old-space-size=${limits.maxOldSpaceMb ?? 256}`],
    ...(limits.fileLimit !== undefined ? { fileLimit: limits.fileLimit } : {}),
  });
  let nextId = 0;
  const pending = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  proc.proc.on('message', (reply: { id: number; result?: unknown; error?: string }) => {
    const waiting = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error !== undefined) waiting?.reject(new Error(reply.error));
    else waiting?.resolve(reply.result);
  });
  void proc.exited.then((code) => {
    const tail = proc.output().split('\n').slice(-8).join('\n');
    for (const waiting of pending.values()) waiting.reject(new Error(`the attack server exited (${code}):\n${tail}`));
    pending.clear();
  });
  const request = <T>(message: AttackRequest): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!proc.proc.connected)
        return reject(new Error(`the attack server is not running (exit ${proc.proc.exitCode ?? proc.proc.signalCode})`));
      const id = ++nextId;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      proc.proc.send({ ...message, id });
    });
  const token = options.tokens?.[0];
  const death = proc.exited.then((code): never => {
    throw new Error(`the attack server died (exit ${code}):\n${proc.output().split('\n').slice(-12).join('\n')}`);
  });
  // Only a test that races it looks at it; a child stopped at the end is no failure.
  death.catch(() => undefined);
  return {
    death,
    url: proc.url,
    process: proc,
    token,
    alive: () => proc.proc.exitCode === null && proc.proc.signalCode === null,
    async memory() {
      const m = await request<NodeJS.MemoryUsage>({ op: 'memory' });
      return m.heapUsed + m.external;
    },
    stats: () => request<HubStats>({ op: 'stats' }),
    flood: (channel, n, size) => request<number>({ op: 'flood', channel, n, size }),
    closes: () => request<SentClose[]>({ op: 'closes' }),
    protocols: () => [DEFAULTS.subprotocol, ...(token ? [`bearer.${token}`] : [])],
    stop: () => proc.stop('SIGKILL'),
  };
}

/** Opens a normal client on `channel` of the attacked server (with its token when it authenticates). */
export async function normalClient(server: AttackServer, channel = 'nodes', options?: WebSocket.ClientOptions): Promise<RawClient> {
  return RawClient.connect(`${server.url}/${channel}`, server.protocols(), options);
}

/**
 * The check after every attack: the process is alive, and a new connection's `query` answers exactly the seed.
 */
export async function expectServes(server: AttackServer): Promise<void> {
  expect(server.alive(), `the attack server died:\n${server.process.output().split('\n').slice(-12).join('\n')}`).toBe(true);
  const client = await normalClient(server);
  try {
    const list = await client.request({ handler: 'query', params: {} }, 'list');
    expect(list.items.map((d) => d.id)).toEqual(Array.from({ length: ATTACK_SEED_NODES }, (_, i) => makeNode(i).id));
  } finally {
    client.close();
  }
}

/** What `JSON.stringify(frame)` would send, for frames too deep for `JSON.stringify` itself. */
export function nested(depth: number, shape: 'array' | 'object'): string {
  return shape === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** What `pending` resolves with, unless the child dies first (then the test fails at once, with its last words). */
export function unlessDead<T>(server: AttackServer, pending: Promise<T>): Promise<T> {
  return Promise.race([pending, server.death]);
}

/** Bytes as MiB with one decimal, for failure messages. */
export const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
