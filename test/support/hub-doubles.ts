/**
 * Test doubles of the hub's contracts, shared by the unit tests of `server/hub/`: sockets that record what the hub
 * sends, sources whose reads answer when the test says so, a source-and-feed over plain tables, and a clock that
 * moves only when the test advances it. Like the hub, they import nothing outside `protocol/` and `server/hub/`.
 */
import { matches, type Doc, type Params, type ServerMessage } from '../../protocol/index.js';
import { DEFAULT_CHANNELS, type ChannelSpec } from '../../server/hub/channels.js';
import { Hub, type HubOptions } from '../../server/hub/hub.js';
import { contentId } from '../../server/hub/ids.js';
import type { Logger } from '../../server/hub/logger.js';
import type { HubTimers } from '../../server/hub/timers.js';
import type { HubSocket, SharedFrame } from '../../server/hub/socket.js';
import type { Change, ChangeFeed, Source } from '../../server/hub/source.js';

/** A socket that parses and keeps every frame the hub sends, and delivers the test's frames to the hub. */
export class TestSocket implements HubSocket {
  readonly frames: ServerMessage[] = [];
  private onMsg: (data: string, isBinary: boolean) => void = () => {};
  private onEnd: (code: number, reason: string) => void = () => {};
  closedWith: number | undefined;
  send(data: string): void {
    this.frames.push(JSON.parse(data) as ServerMessage);
  }
  close(code: number): void {
    this.closedWith = code;
    this.onEnd(code, '');
  }
  onMessage(handler: (data: string, isBinary: boolean) => void): void {
    this.onMsg = handler;
  }
  onClose(handler: (code: number, reason: string) => void): void {
    this.onEnd = handler;
  }
  deliver(message: object): void {
    this.onMsg(JSON.stringify(message), false);
  }
  /** Delivers a raw frame (text as is, or as a binary frame). */
  deliverRaw(data: string, isBinary = false): void {
    this.onMsg(data, isBinary);
  }
  take(): ServerMessage[] {
    return this.frames.splice(0);
  }
  /** The `error` frames' params since the last `take`; forgets every frame. */
  errors(): Array<Extract<ServerMessage, { handler: 'error' }>['params']> {
    return this.take().flatMap((f) => (f.handler === 'error' ? [f.params] : []));
  }
}

/** A socket whose every send throws, as one would whose transport broke in an unexpected way. */
export class ThrowingSocket extends TestSocket {
  override send(): void {
    throw new Error('send broke');
  }
}

/** A logger that keeps its error lines. */
export function errorLog(): Logger & { readonly errors: string[] } {
  const errors: string[] = [];
  return { errors, debug() {}, info() {}, warn() {}, error: (msg) => void errors.push(msg) };
}

/** A socket that takes shared frames as they are (the ws adapter's path), recording the frame objects. */
export class FrameSocket extends TestSocket {
  readonly shared: SharedFrame[] = [];
  sendFrame(frame: SharedFrame): void {
    this.shared.push(frame);
    this.send(frame.text);
  }
}

/** A source whose reads stay pending until the test releases them, answering from a record table. */
export class GatedSource implements Source {
  readonly rows = new Map<string, Doc>();
  readonly pending: Array<{ resolve: () => void; channel: string; params: Params }> = [];
  gated = true;
  reads = 0;
  fail: Error | undefined;

  read(channel: string, params: Params): Promise<Doc[]> {
    this.reads++;
    // The snapshot is taken now (when the read starts), like a database read that began before later writes.
    const snapshot = [...this.rows.values()].filter((d) => matches(d, params));
    const fail = this.fail;
    return new Promise((resolve, reject) => {
      const done = () => (fail ? reject(fail) : resolve(snapshot));
      if (this.gated) this.pending.push({ resolve: done, channel, params });
      else done();
    });
  }
  async get(channel: string, params: Params): Promise<Doc | undefined> {
    return (await this.read(channel, params))[0];
  }
  releaseAll(): void {
    for (const p of this.pending.splice(0)) p.resolve();
  }
}

/**
 * A source and a feed over one table per channel, answering at once: `upsert` and `append` publish the change with
 * the previous record, as the memory backend does (which lives outside `server/hub/`).
 */
export class TableBackend implements Source, ChangeFeed {
  private readonly tables = new Map<string, Map<string, Doc>>();
  private readonly listeners = new Set<(change: Change) => void>();

  constructor(seed: Readonly<Record<string, readonly Doc[]>> = {}) {
    for (const [channel, docs] of Object.entries(seed)) for (const doc of docs) this.upsert(channel, doc);
  }

  onChange(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  read(channel: string, params: Params, limit: number): Doc[] {
    return [...this.table(channel).values()].filter((d) => matches(d, params)).slice(0, limit);
  }

  get(channel: string, params: Params): Doc | undefined {
    return [...this.table(channel).values()].find((d) => matches(d, params));
  }

  /** Creates or replaces a record and publishes the change. */
  upsert(channel: string, doc: Doc): Doc {
    const spec = specOf(channel);
    if (spec.appendOnly) return this.append(channel, doc);
    const id = String(doc[spec.idField]);
    const prev = this.table(channel).get(id) ?? null;
    this.table(channel).set(id, doc);
    this.emit({ channel: spec.name, id, data: doc, prev });
    return doc;
  }

  /** Appends to an append-only channel (the id derived from the content) and publishes the change. */
  append(channel: string, entry: Doc): Doc {
    const spec = specOf(channel);
    const id = contentId(entry, spec.idField);
    const data = { ...entry, [spec.idField]: id };
    this.table(channel).set(id, data);
    this.emit({ channel: spec.name, id, data, prev: null });
    return data;
  }

  private table(channel: string): Map<string, Doc> {
    const name = specOf(channel).name;
    let table = this.tables.get(name);
    if (!table) this.tables.set(name, (table = new Map()));
    return table;
  }

  private emit(change: Change): void {
    for (const listener of this.listeners) listener(change);
  }
}

/** The spec of a default channel, by name or alias. */
export function specOf(channel: string): ChannelSpec {
  const spec = DEFAULT_CHANNELS.find((s) => s.name === channel || s.aliases?.includes(channel));
  if (!spec) throw new Error(`unknown channel "${channel}"`);
  return spec;
}

/** A hub on `source`, and `open(channel)` to connect a `TestSocket` to it. */
export function setup(source: Source = new GatedSource(), options: Omit<HubOptions, 'source'> = {}) {
  const hub = new Hub({ source, ...options });
  const open = (channel = 'nodes') => {
    const socket = new TestSocket();
    const conn = hub.accept(socket, { channel });
    return { socket, conn };
  };
  return { hub, open, source };
}

/** Lets the promises of reads that already answered settle. */
export const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** Lets a batch of requests run to their answers: reads start, answer and are replayed within three macrotasks. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 0));
}

/** A clock and timers that move only when the test advances them. */
export function manualClock() {
  let now = 0;
  let next = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: HubTimers = {
    setTimeout: (fn, ms) => {
      pending.set(++next, { at: now + ms, fn });
      return next;
    },
    clearTimeout: (handle) => void pending.delete(handle as number),
    now: () => now,
  };
  return {
    timers,
    advance(ms: number): void {
      now += ms;
      for (const [id, t] of [...pending].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at > now) continue;
        pending.delete(id);
        t.fn();
      }
    },
  };
}

/** A node record. */
export const n = (id: string, type: string, extra: Doc = {}): Doc => ({ id, type, ...extra });
