/**
 * The fault-convergence harness: a source of truth that outlives server processes, a writer changing it
 * continuously, clients behind a TCP proxy, faults injected in rounds, and a divergence count per client after
 * each round.
 *
 * Extension points, for the backends: a `TruthSource` decides where the truth lives and how a change reaches the
 * server. `MemoryTruth` (here) keeps it in the test process and seeds every new server process with it, then sends
 * it each later write over IPC; a Mongo-backed one keeps it in the wire-level Mongo test server (its own process),
 * writes there and publishes the waterline event, and starts the CLI with `--mongo`/`--amqp`. A `Fault` is a name
 * and an `inject(ctx)`; the broker fault (close the server's named RabbitMQ connection) is one more entry that
 * needs `ctx.truth` to expose its broker.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from '../client/index.js';
import { canonicalJson, channelInfo, matches, type Doc, type Params } from '../protocol/index.js';
import { startProcess, type ServerProcess } from './processes.js';
import { TcpProxy } from './tcp-proxy.js';

/** A change the writer makes. */
export type Write = { op: 'upsert'; channel: string; doc: Doc } | { op: 'remove'; channel: string; id: string };

/** A running server process. */
export interface ServerHandle {
  readonly proc: ChildProcess;
  readonly port: number;
  output(): string;
  /** Kills it (SIGKILL: no shutdown, no close frames) and waits for the exit. */
  kill(): Promise<void>;
}

/** Where the data lives: it must outlive every server process. */
export interface TruthSource {
  /** Applies a write to the truth and passes it on to the running server by the source's own path. */
  write(w: Write): void;
  /** The truth of a channel, now. */
  docs(channel: string): Doc[];
  /** Starts a server process serving the truth; resolves once it listens. */
  startServer(): Promise<ServerHandle>;
  /** Stops everything it started. */
  dispose(): Promise<void>;
}

const idField = (channel: string): string => channelInfo(channel).idField;

/**
 * The truth in the test process; each server process is seeded with it (a JSON file) and then receives every
 * later write over IPC. Writes made while no server runs, or while one starts, are in the next seed or are sent
 * once it listens.
 */
export class MemoryTruth implements TruthSource {
  private readonly tables = new Map<string, Map<string, Doc>>();
  private readonly dir = mkdtempSync(join(tmpdir(), 'monorail-truth-'));
  private current: ServerProcess | undefined;
  private ready = false;
  private queued: Write[] = [];
  private started = 0;

  constructor(
    seed: Readonly<Record<string, readonly Doc[]>>,
    /** `createServer` options for every server process (JSON). */
    private readonly serverOptions: object = {},
  ) {
    for (const [channel, docs] of Object.entries(seed)) {
      this.tables.set(channel, new Map(docs.map((d) => [String(d[idField(channel)]), structuredClone(d)])));
    }
  }

  write(w: Write): void {
    const table = this.tables.get(w.channel) ?? new Map<string, Doc>();
    this.tables.set(w.channel, table);
    if (w.op === 'upsert') table.set(String(w.doc[idField(w.channel)]), structuredClone(w.doc));
    else table.delete(w.id);
    if (this.ready && this.current?.proc.connected) this.current.proc.send(w);
    else this.queued.push(w);
  }

  docs(channel: string): Doc[] {
    return [...(this.tables.get(channel)?.values() ?? [])];
  }

  async startServer(): Promise<ServerHandle> {
    const seedFile = join(this.dir, `seed-${++this.started}.json`);
    writeFileSync(seedFile, JSON.stringify(Object.fromEntries([...this.tables].map(([c, t]) => [c, [...t.values()]]))));
    // Everything written so far is in the seed; what comes while it starts is queued and sent once it listens.
    this.queued = [];
    this.ready = false;
    const server = await startProcess(['test/truth-server.ts', seedFile, JSON.stringify(this.serverOptions)], { ipc: true });
    this.current = server;
    this.ready = true;
    for (const w of this.queued.splice(0)) server.proc.send(w);
    return {
      proc: server.proc,
      port: server.port,
      output: server.output,
      kill: async () => {
        if (this.current === server) this.ready = false;
        await server.stop('SIGKILL');
      },
    };
  }

  async dispose(): Promise<void> {
    this.ready = false;
    await this.current?.stop('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Changes the truth continuously (one write per timer turn) until paused. */
export class Writer {
  writes = 0;
  private running: Promise<void> | undefined;
  private stopRequested = false;

  constructor(
    private readonly truth: TruthSource,
    private readonly next: () => Write,
  ) {}

  start(): void {
    if (this.running) return;
    this.stopRequested = false;
    this.running = (async () => {
      while (!this.stopRequested) {
        this.truth.write(this.next());
        this.writes++;
        // Paces the writer (one write per timer turn) so clients and servers get the CPU; not a timing assumption.
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
  }

  /** Stops after the current write. */
  async pause(): Promise<void> {
    this.stopRequested = true;
    await this.running;
    this.running = undefined;
  }
}

/** A client under test and the watches whose union it must hold. */
export interface Watcher {
  readonly name: string;
  readonly channel: string;
  readonly connection: Connection;
  readonly watches: readonly Params[];
}

/**
 * Items where the client's store and the truth disagree: held but not in the truth (or not matching any of its
 * watches), in the truth but missing, or present in both with different content.
 */
export function divergence(w: Watcher, truth: TruthSource): { missing: number; extra: number; different: number } {
  const id = idField(w.channel);
  const expected = new Map(truth.docs(w.channel).filter((d) => w.watches.some((p) => matches(d, p))).map((d) => [String(d[id]), d]));
  const held = new Map(w.connection.store.getSnapshot().map((d) => [String(d[id]), d]));
  let missing = 0;
  let extra = 0;
  let different = 0;
  for (const [k, d] of expected) {
    const h = held.get(k);
    if (h === undefined) missing++;
    else if (canonicalJson(h) !== canonicalJson(d)) different++;
  }
  for (const k of held.keys()) if (!expected.has(k)) extra++;
  return { missing, extra, different };
}

/** What a fault can act on. */
export interface FaultContext {
  readonly truth: TruthSource;
  readonly proxy: TcpProxy;
  /** The running server (replaced by a restart). */
  server: ServerHandle;
  /** Kills nothing: starts a new server process on the truth and points the proxy at it. */
  startServer(): Promise<void>;
}

/** A fault kind. */
export interface Fault {
  readonly name: string;
  inject(ctx: FaultContext): Promise<void>;
}

/** The server process is killed (SIGKILL: no close frames, its memory is gone) and a new one is started. */
export const serverKilled: Fault = {
  name: 'server process killed and restarted',
  async inject(ctx) {
    await ctx.server.kill();
    await ctx.startServer();
  },
};

/** Every client's TCP connection is reset without a WebSocket close frame (the network went away). */
export const clientSocketsDropped: Fault = {
  name: "clients' sockets dropped without a close frame",
  async inject(ctx) {
    ctx.proxy.dropAll();
  },
};

/** Starts the first server and the proxy in front of it. */
export async function faultContext(truth: TruthSource): Promise<FaultContext & { dispose(): Promise<void> }> {
  const first = await truth.startServer();
  const proxy = await TcpProxy.start(first.port);
  const ctx = {
    truth,
    proxy,
    server: first,
    async startServer() {
      ctx.server = await truth.startServer();
      proxy.upstreamPort = ctx.server.port;
    },
    async dispose() {
      await proxy.close();
      await truth.dispose();
    },
  };
  return ctx;
}
