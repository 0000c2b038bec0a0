/**
 * The fault-convergence harness: a source of truth that outlives server processes, a writer changing it
 * continuously, clients each behind its own TCP proxy, faults injected in rounds, and a divergence count per client
 * after each round.
 *
 * A `TruthSource` decides where the truth lives and how a change reaches the server: `MemoryTruth` (memory-truth.ts)
 * keeps it in the test process, seeds every new server process with it and sends it each later write over IPC; `MongoTruth`
 * (mongo-truth.ts) keeps it in the wire-level Mongo test server (its own process), writes there with the official
 * driver, publishes RackHD's waterline event for each change and runs the CLI with `--mongo`/`--amqp`. A `Fault` is a
 * name and an `inject(ctx)` that says which clients it disconnected; the faults that need a broker or a database
 * (mongo-truth.ts) take a `FaultContext<MongoTruth>`.
 */
import type { ChildProcess } from 'node:child_process';
import WebSocket from 'isomorphic-ws';
import { expect } from 'vitest';
import { Connection } from '../../../client/index.js';
import { canonicalJson, channelInfo, matches, type Doc, type Filter, type Params } from '../../../protocol/index.js';
import { waitFor } from '../wait.js';
import { TcpProxy } from '../tcp-proxy.js';

/**
 * A change the writer makes: create or replace a record, change some fields of a record (nothing when it does not
 * exist), or delete one (nothing when it does not exist).
 */
export type Write =
  | { op: 'upsert'; channel: string; doc: Doc }
  | { op: 'update'; channel: string; id: string; set: Doc }
  | { op: 'remove'; channel: string; id: string };

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
  write(w: Write): Promise<void>;
  /** The truth of a channel, now, as records (the form clients hold). */
  docs(channel: string): Promise<Doc[]>;
  /** Starts a server process serving the truth on `port` (0: a free one); resolves once it listens. */
  startServer(port: number): Promise<ServerHandle>;
  /** Stops everything it started. */
  dispose(): Promise<void>;
}

/** The id field of a channel's records (`id`, or `instanceId` for workflows). */
export const idField = (channel: string): string => channelInfo(channel).idField;

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed with its seed. */
export { prng } from '../../../server/demo/random.js';

/** Changes the truth continuously, one write after another, until paused. */
export class Writer {
  writes = 0;
  private running: Promise<void> | undefined;
  private stopRequested = false;
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly truth: TruthSource,
    private readonly next: () => Write,
  ) {}

  start(): void {
    if (this.running) return;
    this.stopRequested = false;
    this.running = (async () => {
      try {
        while (!this.stopRequested) {
          await this.truth.write(this.next());
          this.writes++;
          // One write per timer turn, so clients and servers get the CPU; not a timing assumption.
          await new Promise((r) => setTimeout(r, 1));
        }
      } catch (error) {
        this.failure = { error };
      }
    })();
  }

  /** Throws what made the writer stop, if a write failed. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Stops after the current write. */
  async pause(): Promise<void> {
    this.stopRequested = true;
    await this.running;
    this.running = undefined;
    this.check();
  }
}

/** A client under test and the watches whose union it must hold. */
export interface Watcher {
  readonly name: string;
  readonly channel: string;
  readonly watches: readonly Params[];
  readonly connection: Connection;
  /** Its own TCP proxy in front of the server, so its socket can be dropped alone. */
  readonly proxy: TcpProxy;
  /** Codes of the `error` frames it received, with counts. */
  readonly serverErrors: Map<string, number>;
  /**
   * `list` frames it received (snapshots and re-snapshots), and `resumed` frames (watches answered by a replay of
   * what they missed, with `resume` on).
   */
  readonly received: { lists: number; resumed: number };
}

/** What a client watches. */
export interface WatcherSpec {
  readonly name: string;
  readonly channel: string;
  readonly watches: readonly Params[];
}

/** How one client's store differs from the truth. */
export interface Divergence {
  /** Matching records of the truth the store lacks. */
  missing: number;
  /** Records the store holds that the truth lacks or that match none of its watches. */
  extra: number;
  /** Records in both with different content. */
  different: number;
}

/**
 * Items where the client's store and the truth disagree: held but not in the truth (or not matching any of its
 * watches), in the truth but missing, or present in both with different content.
 */
export function divergence(w: Watcher, truth: readonly Doc[]): Divergence {
  const id = idField(w.channel);
  const expected = new Map(truth.filter((d) => w.watches.some((p) => matches(d, p))).map((d) => [String(d[id]), d]));
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
export interface FaultContext<T extends TruthSource = TruthSource> {
  readonly truth: T;
  readonly watchers: readonly Watcher[];
  readonly writer: Writer;
  /** The port every server process of the run listens on: a restart reuses it. */
  readonly port: number;
  /** The running server (replaced by a restart). */
  server: ServerHandle;
  /** The round being run, from 0. */
  round: number;
  /** Kills nothing: starts a new server process on the truth, on the same port. */
  restartServer(): Promise<void>;
}

/** What a fault did. */
export interface FaultOutcome {
  /** The clients it disconnected: each must come back with a new session, every other must keep its session. */
  readonly reconnect: readonly Watcher[];
  /** Counts that show the fault took effect, for the report. */
  readonly evidence?: Readonly<Record<string, number>>;
  /** What must also hold before the round is over (the recovery the fault sets off has happened). */
  readonly settled?: () => boolean;
}

/** A fault kind. */
export interface Fault<T extends TruthSource = TruthSource> {
  readonly name: string;
  inject(ctx: FaultContext<T>): Promise<FaultOutcome>;
}

/** The server process is killed (SIGKILL: no close frames, its memory is gone) and a new one started on its port. */
export const serverKilled: Fault = {
  name: 'server process killed and restarted',
  async inject(ctx) {
    await ctx.server.kill();
    await ctx.restartServer();
    return { reconnect: ctx.watchers };
  },
};

/**
 * Client TCP connections reset without a WebSocket close frame (the network went away): every client's, or one
 * client's (a different one each round).
 */
export function clientSocketsDropped(which: 'all' | 'one'): Fault {
  return {
    name: which === 'all' ? "every client's socket dropped without a close frame" : "a client's socket dropped without a close frame",
    async inject(ctx) {
      const victims = which === 'all' ? ctx.watchers : [ctx.watchers[ctx.round % ctx.watchers.length]!];
      let dropped = 0;
      for (const w of victims) dropped += w.proxy.dropAll();
      if (dropped !== victims.length) throw new Error(`expected to drop ${victims.length} connections, dropped ${dropped}`);
      return { reconnect: victims, evidence: { dropped } };
    },
  };
}

/** One round's figures. */
export interface RoundReport {
  readonly round: number;
  readonly fault: string;
  /** Writes made during the round (from just before the fault until the writer paused). */
  readonly writes: number;
  /** Clients that came back with a new session, and how many the fault disconnected. */
  readonly reconnected: number;
  readonly expectedReconnects: number;
  /** Clients whose session changed although the fault did not disconnect them. */
  readonly unexpectedReconnects: number;
  /** `list` frames clients received during the round (snapshots after reconnects, re-snapshots). */
  readonly lists: number;
  /** `resumed` frames clients received during the round (watches resumed after reconnects, with `resume` on). */
  readonly resumed: number;
  /** Clients not open after the round. */
  readonly notOpen: number;
  /** Divergent items summed over every client (missing + extra + different); must be 0. */
  readonly divergent: number;
  /** Items and bytes (canonical JSON) held over every client, and what the truth says they should be. */
  readonly items: number;
  readonly expectedItems: number;
  readonly bytes: number;
  readonly expectedBytes: number;
  readonly evidence: Readonly<Record<string, number>>;
  /** Per-client divergence, for the failure message. */
  readonly clients: ReadonlyArray<{ client: string; state: string } & Divergence>;
}

/** A started run: the truth, its first server, the clients and the writer. */
export type FaultRun<T extends TruthSource> = FaultContext<T> & {
  /** Waits until every client is open and equals the truth (throws on timeout). */
  converged(timeoutMs: number, what: string): Promise<void>;
  /** Runs one round: the fault under continuous writes, then convergence; returns the figures (asserts nothing). */
  runRound(fault: Fault<T>, options: { writesAfterFault: number; convergeTimeoutMs: number }): Promise<RoundReport>;
  dispose(): Promise<void>;
};

const bytesOf = (docs: readonly Doc[]): number => docs.reduce((n, d) => n + Buffer.byteLength(canonicalJson(d)), 0);

/** Starts the first server, one proxy and one client per spec, and a writer (not started). */
export async function startFaultRun<T extends TruthSource>(
  truth: T,
  specs: readonly WatcherSpec[],
  next: () => Write,
): Promise<FaultRun<T>> {
  const first = await truth.startServer(0);
  const watchers: Watcher[] = [];
  for (const spec of specs) {
    const proxy = await TcpProxy.start(first.port);
    const connection = new Connection(`ws://127.0.0.1:${proxy.port}/${spec.channel}`, {
      WebSocket,
      backoff: { baseMs: 10, maxMs: 100 },
      heartbeat: false,
    });
    const serverErrors = new Map<string, number>();
    connection.events.on('error', (e) => {
      if (e.kind === 'server') serverErrors.set(e.code, (serverErrors.get(e.code) ?? 0) + 1);
    });
    const received = { lists: 0, resumed: 0 };
    connection.events.on('list', () => received.lists++);
    connection.events.on('resumed', () => received.resumed++);
    for (const p of spec.watches) connection.watch(p as Filter);
    watchers.push({ ...spec, connection, proxy, serverErrors, received });
  }
  const writer = new Writer(truth, next);

  /** Reads the truth once per channel and compares every client with it. */
  const measure = async () => {
    const truths = new Map<string, Doc[]>();
    for (const w of watchers) if (!truths.has(w.channel)) truths.set(w.channel, await truth.docs(w.channel));
    const clients = watchers.map((w) => ({ client: w.name, state: w.connection.state, ...divergence(w, truths.get(w.channel)!) }));
    const expected = watchers.map((w) => truths.get(w.channel)!.filter((d) => w.watches.some((p) => matches(d, p))));
    const held = watchers.map((w) => w.connection.store.getSnapshot());
    return {
      clients,
      divergent: clients.reduce((n, c) => n + c.missing + c.extra + c.different, 0),
      notOpen: clients.filter((c) => c.state !== 'open').length,
      items: held.reduce((n, h) => n + h.length, 0),
      expectedItems: expected.reduce((n, e) => n + e.length, 0),
      bytes: held.reduce((n, h) => n + bytesOf(h), 0),
      expectedBytes: expected.reduce((n, e) => n + bytesOf(e), 0),
    };
  };

  const run: FaultRun<T> = {
    truth,
    watchers,
    writer,
    port: first.port,
    server: first,
    round: 0,
    async restartServer() {
      run.server = await truth.startServer(first.port);
    },
    async converged(timeoutMs, what) {
      await waitFor(async () => (await measure()).divergent === 0 && watchers.every((w) => w.connection.state === 'open'), timeoutMs, what);
    },
    async runRound(fault, { writesAfterFault, convergeTimeoutMs }) {
      const sessions = watchers.map((w) => w.connection.sessionId);
      const lists = () => watchers.reduce((n, w) => n + w.received.lists, 0);
      const resumed = () => watchers.reduce((n, w) => n + w.received.resumed, 0);
      const listsBefore = lists();
      const resumedBefore = resumed();
      const answersBefore = watchers.map((w) => w.received.lists + w.received.resumed);
      const writesBefore = writer.writes;
      writer.start();
      const outcome = await fault.inject(run);
      // Keep writing while clients reconnect and servers re-snapshot.
      const writesAtFault = writer.writes;
      await waitFor(
        () => {
          writer.check();
          return writer.writes - writesAtFault >= writesAfterFault;
        },
        30_000,
        `${writesAfterFault} writes after "${fault.name}"`,
      );
      await writer.pause();
      const expected = new Set(outcome.reconnect);
      const back = (w: Watcher, i: number) =>
        w.connection.state === 'open' && w.connection.sessionId !== undefined && w.connection.sessionId !== sessions[i];
      // A client that came back has had each of its watches answered (a list or resumed) in its new session: its
      // store can equal the truth a little earlier by chance, and the next round's path depends on this.
      const answered = (w: Watcher, i: number) => w.received.lists + w.received.resumed - answersBefore[i]! >= w.watches.length;
      try {
        await waitFor(
          async () =>
            watchers.every((w, i) => !expected.has(w) || (back(w, i) && answered(w, i))) &&
            (outcome.settled?.() ?? true) &&
            (await measure()).divergent === 0 &&
            watchers.every((w) => w.connection.state === 'open'),
          convergeTimeoutMs,
          `convergence after "${fault.name}"`,
        );
      } catch {
        // Reported below: the figures name what did not converge.
      }
      const m = await measure();
      const report: RoundReport = {
        round: run.round,
        fault: fault.name,
        writes: writer.writes - writesBefore,
        reconnected: watchers.filter((w, i) => back(w, i)).length,
        expectedReconnects: expected.size,
        unexpectedReconnects: watchers.filter((w, i) => !expected.has(w) && w.connection.sessionId !== sessions[i]).length,
        lists: lists() - listsBefore,
        resumed: resumed() - resumedBefore,
        evidence: outcome.evidence ?? {},
        ...m,
      };
      run.round++;
      return report;
    },
    async dispose() {
      await writer.pause().catch(() => undefined);
      for (const w of watchers) w.connection.disconnect();
      for (const w of watchers) await w.proxy.close();
      await truth.dispose();
    },
  };
  return run;
}

/**
 * A round converged: no divergent item, every client open again, and exactly the reconnects its fault causes
 * (both fault-convergence suites assert this after every round; `label` names the round, the clients' figures go with it).
 */
export function expectConverged(r: RoundReport, label: string): void {
  expect(
    { divergent: r.divergent, notOpen: r.notOpen, reconnected: r.reconnected, unexpectedReconnects: r.unexpectedReconnects },
    `${label}: ${JSON.stringify(r.clients)}`,
  ).toEqual({ divergent: 0, notOpen: 0, reconnected: r.expectedReconnects, unexpectedReconnects: 0 });
}
