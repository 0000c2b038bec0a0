/**
 * A load process: opens client connections to a bench server and records what arrives. Fan-out clients are
 * minimal protocol clients on `ws` (or socket.io-client for the Socket.IO baseline) that parse every frame and
 * compare its timestamp with the monotonic clock; storm clients are the real SDK (`Connection` + `Store`).
 * Driven by the orchestrator over IPC; pushes `progress` events while changes are expected.
 */
import { io as ioClient, type Socket as IoSocket } from 'socket.io-client';
import WebSocket from 'ws';
import { Connection } from '../client/connection.js';
import type { Doc } from '../protocol/index.js';
import { filteredSchedule, nodeId, nowUs, stormNodes, stormNodesAfter, stormWatches } from './data.js';
import { Histogram } from './histogram.js';
import { emit, serveRequests } from './ipc.js';

type Target = 'monorail-ws' | 'raw-ws' | 'socket.io';

/** Per-client counters. */
interface Tally {
  /** Deliveries expected in the armed run. */
  expected: number;
  received: number;
  /** Highest seq seen (credit for flow control). */
  last: number;
  /** Frames that arrived out of order or twice. */
  disorder: number;
}

interface FanClient {
  tally: Tally;
  close(): void;
}

const hist = new Histogram();
let cpuStart = process.cpuUsage();
const clients: FanClient[] = [];
let seqFrom = 0;
let seqTo = 0;
let lastUs = 0;
let armed = false;

function onFrame(t: Tally, m: { handler?: string; data?: { seq?: number; ts?: number } }): void {
  if (!armed) return;
  if (m.handler === 'item') {
    const seq = m.data?.seq ?? 0;
    if (seq <= seqFrom || seq > seqTo) return;
    const now = nowUs();
    lastUs = now;
    hist.record(now - m.data!.ts!);
    if (seq <= t.last) t.disorder++;
    else t.last = seq;
    t.received++;
  } else if (m.handler === 'remove') {
    lastUs = nowUs();
    t.received++;
  }
}

/** The integer after `key` in a frame (`"seq":` → 42), read from the bytes: load clients stay cheap. */
function intAfter(buf: Buffer, key: string): number {
  let i = buf.indexOf(key);
  if (i < 0) return -1;
  i += key.length;
  let n = 0;
  for (let c = buf[i]!; c >= 48 && c <= 57; c = buf[++i]!) n = n * 10 + (c - 48);
  return n;
}

/**
 * A frame from a ws-based target, without JSON.parse: the client processes share two cores with the server, so
 * the less they spend per frame the less they disturb what is measured. Items carry `seq` and `ts`.
 */
function onBuffer(t: Tally, buf: Buffer): void {
  if (!armed) return;
  const seq = intAfter(buf, '"seq":');
  if (seq >= 0) onFrame(t, { handler: 'item', data: { seq, ts: intAfter(buf, '"ts":') } });
  else if (buf.indexOf('"handler":"remove"') >= 0) onFrame(t, { handler: 'remove' });
}

function tally(): Tally {
  return { expected: 0, received: 0, last: 0, disorder: 0 };
}

/** A minimal monorail-ws protocol client: init, its watches, then counts `item`/`remove`. Resolves once every snapshot arrived. */
function monorailClient(url: string, watches: Doc[]): Promise<FanClient> {
  return new Promise((resolve, reject) => {
    const t = tally();
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let lists = 0;
    ws.on('open', () => {
      for (const f of setupFrames(watches)) ws.send(f);
    });
    ws.on('message', (data: Buffer) => {
      if (lists < watches.length) {
        const m = JSON.parse(String(data)) as { handler: string };
        if (m.handler === 'list' && ++lists === watches.length) resolve({ tally: t, close: () => ws.terminate() });
      } else onBuffer(t, data);
    });
    ws.on('error', reject);
  });
}

/** What a monorail-ws client with these watches sends once open: `init`, then a `watch` each. */
function setupFrames(watches: Doc[]): string[] {
  return [JSON.stringify({ handler: 'init' }), ...watches.map((params) => JSON.stringify({ handler: 'watch', params }))];
}

/** A raw ws client; `frames` are sent once open (the same bytes a monorail-ws client sends, which the server ignores). */
function rawClient(url: string, frames: string[] = []): Promise<FanClient> {
  return new Promise((resolve, reject) => {
    const t = tally();
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('open', () => {
      for (const f of frames) ws.send(f);
      resolve({ tally: t, close: () => ws.terminate() });
    });
    ws.on('message', (data: Buffer) => onBuffer(t, data));
    ws.on('error', reject);
  });
}

/** A Socket.IO client; `frames` are sent once connected, as `message` events (which the server does not handle). */
function socketIoClient(url: string, frames: string[] = []): Promise<FanClient> {
  return new Promise((resolve, reject) => {
    const t = tally();
    const socket: IoSocket = ioClient(url, { transports: ['websocket'], reconnection: false, forceNew: true });
    socket.on('connect', () => {
      for (const f of frames) socket.emit('message', f);
      resolve({ tally: t, close: () => socket.disconnect() });
    });
    socket.on('message', (m: { handler: string }) => onFrame(t, m));
    socket.on('connect_error', reject);
  });
}

/** Opens `count` more clients, at most `parallel` handshakes at a time. */
async function openAll(count: number, open: (i: number) => Promise<FanClient>, parallel = 50): Promise<void> {
  const base = clients.length;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      // By index, not in completion order: filtered runs look clients up by their node.
      clients[base + i] = await open(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}

let progressTimer: NodeJS.Timeout | undefined;

function progress(): { min: number; received: number; expected: number } {
  let min = Infinity;
  let received = 0;
  let expected = 0;
  for (const c of clients) {
    if (c.tally.last < min) min = c.tally.last;
    received += c.tally.received;
    expected += c.tally.expected;
  }
  return { min: min === Infinity ? 0 : min, received, expected };
}

// ---- storm: the real SDK ----

interface StormClient {
  conn: Connection;
  expected: Map<string, number>;
  convergedAt: number;
  reopenedAt: number;
  armedAt: number;
  /** Armed with `answers`: both watches must be answered (a `list` or `resumed`) since the arming to count as converged. */
  needAnswers: boolean;
  /** `list` and `resumed` frames since the arming. */
  lists: number;
  resumed: number;
}
const storm: StormClient[] = [];

function expectedFor(nodes: Doc[], i: number): Map<string, number> {
  const [a, b] = stormWatches(i);
  const out = new Map<string, number>();
  for (const n of nodes) if (n.type === a.type || n.sku === b.sku) out.set(n.id as string, n.version as number);
  return out;
}

function converged(c: StormClient): boolean {
  const store = c.conn.store;
  if (store.size !== c.expected.size) return false;
  for (const doc of store.getSnapshot()) if (c.expected.get(doc.id as string) !== doc.version) return false;
  return true;
}

function check(c: StormClient): void {
  if (c.convergedAt !== 0) return;
  // A client none of whose records changed equals the truth all along: it has converged once it is back and both
  // of its watches were answered in the new session.
  if (c.needAnswers && c.lists + c.resumed < 2) return;
  if (converged(c)) c.convergedAt = nowUs();
}

serveRequests({
  connect: async (m) => {
    const target = m.target as Target;
    const url = m.url as string;
    const lo = m.lo as number;
    const hi = m.hi as number;
    const mode = m.mode as string;
    if (mode === 'storm') {
      const nodes = stormNodes(m.nodes as number, m.bytes as number);
      for (let i = lo; i < hi; i++) {
        const conn = new Connection(`${url}/nodes`, { WebSocket: WebSocket as never });
        const c: StormClient = {
          conn,
          expected: expectedFor(nodes, i),
          convergedAt: 0,
          reopenedAt: 0,
          armedAt: 0,
          needAnswers: false,
          lists: 0,
          resumed: 0,
        };
        for (const params of stormWatches(i)) conn.watch(params);
        conn.store.subscribe(() => check(c));
        conn.events.on('list', () => {
          c.lists++;
          check(c);
        });
        conn.events.on('resumed', () => {
          c.resumed++;
          check(c);
        });
        conn.events.on('open', () => {
          if (c.armedAt !== 0 && c.reopenedAt === 0) c.reopenedAt = nowUs();
        });
        storm.push(c);
      }
      const deadline = Date.now() + 120_000;
      while (storm.some((c) => c.convergedAt === 0)) {
        if (Date.now() > deadline) throw new Error('storm clients did not converge initially');
        await new Promise((r) => setTimeout(r, 20));
      }
      return { clients: storm.length };
    }
    const watches = (i: number): Doc[] => (mode === 'filtered' ? [{ node: nodeId(i) }] : mode === 'idle' ? (m.watches as Doc[]) : [{}]);
    const channel = mode === 'filtered' ? 'workflows' : 'nodes';
    // Idle baselines receive what a monorail-ws client sends (and ignore it): a connection that has received frames
    // holds more in ws and Node (the receiver's buffers, stream state) than one that never did.
    const sent = (k: number): string[] => (mode === 'idle' ? setupFrames(watches(lo + k)) : []);
    await openAll(hi - lo, (k) =>
      target === 'raw-ws'
        ? rawClient(url, sent(k))
        : target === 'socket.io'
          ? socketIoClient(url, sent(k))
          : monorailClient(`${url}/${channel}`, watches(lo + k)),
    );
    return { clients: clients.length };
  },
  /** Expect changes `from+1 … from+count`; filtered runs derive each client's share from the schedule. */
  arm: (m) => {
    seqFrom = m.from as number;
    seqTo = seqFrom + (m.count as number);
    hist.reset();
    for (const c of clients) Object.assign(c.tally, tally());
    if (m.filtered) {
      const f = m.filtered as { nodes: number; perNode: number; changes: number; moveShare: number };
      const lo = m.lo as number;
      const schedule = filteredSchedule(f.nodes, f.perNode, f.changes, f.moveShare);
      for (const c of schedule.slice(seqFrom, seqTo)) {
        const a = clients[c.node - lo];
        if (a) a.tally.expected++;
        const b = clients[c.from - lo];
        if (b && c.from !== c.node) b.tally.expected++;
      }
    } else {
      for (const c of clients) c.tally.expected = m.count as number;
    }
    armed = true;
    cpuStart = process.cpuUsage();
    clearInterval(progressTimer);
    progressTimer = setInterval(() => emit('progress', progress()), 5);
  },
  report: () => {
    armed = false;
    clearInterval(progressTimer);
    const p = progress();
    let lost = 0;
    let disorder = 0;
    for (const c of clients) {
      lost += Math.max(0, c.tally.expected - c.tally.received);
      disorder += c.tally.disorder;
    }
    const data = hist.toData();
    hist.reset();
    const cpu = process.cpuUsage(cpuStart);
    return { deliveries: p.received, expected: p.expected, lost, disorder, lastUs, hist: data, cpuUs: cpu.user + cpu.system };
  },
  /** The truth to converge on: `truth` when given (the resume scenario), else the storm's. `answers`: see StormClient. */
  'storm-arm': (m) => {
    const after = (m.truth as Doc[] | undefined) ?? stormNodesAfter(m.nodes as number, m.bytes as number);
    const t0 = nowUs();
    storm.forEach((c, k) => {
      c.expected = expectedFor(after, (m.lo as number) + k);
      c.convergedAt = 0;
      c.reopenedAt = 0;
      c.armedAt = t0;
      c.needAnswers = m.answers === true;
      c.lists = 0;
      c.resumed = 0;
    });
  },
  'storm-report': () => ({
    converged: storm.filter((c) => c.convergedAt !== 0).length,
    lists: storm.reduce((n, c) => n + c.lists, 0),
    resumed: storm.reduce((n, c) => n + c.resumed, 0),
    reopenedUs: storm.map((c) => c.reopenedAt),
    convergedUs: storm.map((c) => c.convergedAt),
    states: storm.filter((c) => c.conn.state !== 'open').length,
  }),
  close: () => {
    for (const c of clients) c.close();
    for (const c of storm) c.conn.disconnect();
    clients.length = 0;
    storm.length = 0;
  },
});
