/**
 * The attack suite of issue 10: each finding, tried as an attacker would with a client the defaults let in,
 * against a server in its own process (`support/attack/server.ts`), so that a crash or a heap exhausted shows here as a
 * dead child instead of a dead test runner. After every attack the process must be alive, answer a normal `query`
 * on a new connection, and its memory after a full GC (heap plus buffers) must be back within a stated bound of
 * what it was before.
 *
 * Timeouts are passed small (`handshakeTimeoutMs`, `fragmentTimeoutMs`: 1 s) so the suite runs in seconds; the
 * waits below are generous multiples of them and bound only how long a failing run takes: nothing asserts a
 * duration. The child's heap is capped (256 MB), so an unbounded attack ends in its crash, not the machine's.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CLIENT_HANDLERS, CloseCode, DEFAULTS, type ErrorMessage } from '../protocol/index.js';
import {
  ATTACK_SEED_NODES,
  expectServes,
  mib,
  nested,
  normalClient,
  startAttackServer,
  type AttackServer,
  type AttackServerOptions,
  unlessDead,
} from './support/attack/harness.js';
import { RawClient } from './support/raw-client.js';
import { waitFor } from './support/wait.js';
import {
  closeCodeOf,
  frameClient,
  maskedFrame,
  Opcode,
  silentSocket,
  stalledClient,
  type FrameClient,
  type SilentSocket,
} from './support/raw-socket.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/**
 * Memory (heap plus buffers, after GC) an attack may leave behind once its connections are gone: code compiled and
 * tables built on the first use of a path, and GC noise. Every attack below sends or used to hold far more.
 */
const SETTLED = 4 * MiB;
/**
 * The handshake and fragment timeouts the children run with: short, so the suite runs in seconds, and yet long
 * enough that a normal client's handshake completes within it on a machine loaded many times over (a child starved
 * of CPU for longer would cut a legitimate client whose request is already waiting in its socket).
 */
const SHORT_MS = 1_000;
/** How long a test waits for something a `SHORT_MS` timer does (a bound for failing runs, not a measurement). */
const CUT_WITHIN = 8_000;
const TOKEN = 'valid-attack-token';
/**
 * Per test: a passing one takes a few seconds (most of it starting the child); a failing one waits out its
 * `CUT_WITHIN` or a reply's 5 s, and must still end.
 */
const TEST_TIMEOUT_MS = 20_000;

/** The options most attacks need no more than: every default. */
const DEFAULT: AttackServerOptions = {};
/** Authentication on (and `/debug/stats`, to show it asks for the token too). */
const AUTHENTICATED: AttackServerOptions = { tokens: [TOKEN], debugStats: true };
/** Unfinished handshakes and messages are cut after `SHORT_MS`. */
const SHORT_TIMEOUTS: AttackServerOptions = { handshakeTimeoutMs: SHORT_MS, fragmentTimeoutMs: SHORT_MS };

/**
 * Children by their options: tests with the same options share one (a start costs a second or two), and a child
 * an attack has killed is replaced by the next test that needs it.
 */
const children = new Map<string, AttackServer>();
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
afterAll(async () => {
  for (const child of children.values()) await child.stop();
});

/** The child for `options`, idle (no connection left from an earlier test) and serving, and its memory before any attack. */
async function attackServer(options: AttackServerOptions, fileLimit?: number): Promise<{ s: AttackServer; before: number }> {
  const key = JSON.stringify([options, fileLimit]);
  let s = children.get(key);
  if (!s?.alive()) {
    s = await startAttackServer(options, fileLimit === undefined ? {} : { fileLimit });
    children.set(key, s);
  }
  await idle(s);
  // A normal query first: what its first use builds is not the attack's.
  await expectServes(s);
  return { s, before: await s.memory() };
}

/** Resolves once the child holds no connection. */
async function idle(s: AttackServer): Promise<void> {
  await waitFor(async () => (await s.stats()).connections === 0, CUT_WITHIN, 'the connections to be gone');
}

/**
 * The attacker's client, closed after the test. Its masking key is zero, which RFC 6455 allows: ws then skips
 * masking here and unmasking in the server, most of what hundreds of MB of frames would otherwise cost (ws has no
 * native helper installed). The bytes on the wire are the same frames.
 */
async function client(s: AttackServer, channel = 'nodes'): Promise<RawClient> {
  const c = await normalClient(s, channel, { generateMask: (mask) => void mask.fill(0) });
  cleanup.push(() => c.close());
  return c;
}

/** Sends raw text and resolves with the error frame it gets. */
async function refusal(s: AttackServer, c: RawClient, text: string): Promise<ErrorMessage> {
  c.send(text);
  return unlessDead(s, c.next('error'));
}

/** The end of every attack: its connections gone, the server alive, serving, and its memory back within `bound` of `before`. */
async function expectRecovered(s: AttackServer, before: number, bound = SETTLED): Promise<void> {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  await idle(s);
  await expectServes(s);
  const after = await s.memory();
  expect(after, `memory after GC grew by ${mib(after - before)} (bound ${mib(bound)})`).toBeLessThanOrEqual(before + bound);
}

const portOf = (c: RawClient) => (c.ws as unknown as { _socket: Socket })._socket.localPort;

describe('attack 1: deep nesting', { timeout: TEST_TIMEOUT_MS }, () => {
  for (const authenticated of [false, true]) {
    it(`all with params nested 5,000 and 100,000 deep, on resource "nope" and on /nope${authenticated ? ', with a valid token' : ''}: too-large without the params, connection open`, async () => {
      const { s, before } = await attackServer(authenticated ? AUTHENTICATED : DEFAULT);
      const viaResource = await client(s);
      const viaPath = await client(s, 'nope');
      for (const depth of [5_000, 100_000]) {
        for (const shape of ['array', 'object'] as const) {
          for (const [c, resource] of [
            [viaResource, '"resource":"nope",'],
            [viaPath, ''],
          ] as const) {
            const error = await refusal(s, c, `{"handler":"all",${resource}"params":${nested(depth, shape)}}`);
            expect(error.params.code).toBe('too-large');
            expect(error.params.request?.params).toBeUndefined();
            // Still open, and still answering.
            const list = await unlessDead(s, c.request({ handler: 'query', resource: 'nodes', params: {} }, 'list'));
            expect(list.items).toHaveLength(ATTACK_SEED_NODES);
          }
        }
      }
      await expectRecovered(s, before);
    });
  }

  it('every field of every handler (and unknown ones) at depth 100,000, on a channel and off one: too-large, nothing echoed', async () => {
    const { s, before } = await attackServer(DEFAULT);
    const deep = nested(100_000, 'array');
    const frames = [`{"handler":${deep}}`];
    for (const handler of [...CLIENT_HANDLERS, 'nope']) {
      for (const field of ['params', 'resource', 'id', 'extra']) frames.push(`{"handler":"${handler}","${field}":${deep}}`);
    }
    // On an unknown channel every request is answered with an error that echoes it: the path of finding 1.
    for (const c of [await client(s), await client(s, 'nope')]) {
      for (const frame of frames) {
        const error = await refusal(s, c, frame);
        expect({ frame: frame.slice(0, 40), code: error.params.code }).toEqual({ frame: frame.slice(0, 40), code: 'too-large' });
        expect(JSON.stringify(error).length).toBeLessThan(2 * KiB);
      }
    }
    await expectRecovered(s, before);
  });
});

describe('attack 2: distinct huge field names (the path cache)', { timeout: TEST_TIMEOUT_MS }, () => {
  /** What a bounded cache of client-derived paths may keep (its own bound, plus `SETTLED`'s noise). */
  const CACHE_BOUND = 8 * MiB;
  /** `n` distinct field names of exactly `length` characters. */
  const names = (tag: string, n: number, length: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}-`.padEnd(length, 'k'));
  /**
   * A query on every name, each condition `null` (a missing field equals null): every record matches every
   * condition, so the filter evaluates — and the path cache sees — every name, not just the first.
   */
  const query = (fields: string[]) => ({ handler: 'query', params: Object.fromEntries(fields.map((f) => [f, null])) });

  it('12,000 distinct names as long as the default input budget allows (maxKeyLength): memory bounded', async () => {
    const { s, before } = await attackServer(DEFAULT);
    const c = await client(s);
    // 500 names per query: 512 KB frames, well within maxPayload and maxNodes.
    for (let q = 0; q < 24; q++) {
      expect((await unlessDead(s, c.request(query(names(`q${q}`, 500, DEFAULTS.inputBudget.maxKeyLength)), 'list'))).items).toHaveLength(
        ATTACK_SEED_NODES,
      );
    }
    // 12 MB of names were sent; before the fix the cache kept 10,000 of them.
    await expectRecovered(s, before, CACHE_BOUND);
  });

  it('32 distinct 900 KB names (inputBudget.maxKeyLength raised to 900 KB): memory bounded, no crash', async () => {
    const maxKeyLength = 900 * KiB;
    const { s, before } = await attackServer({ inputBudget: { maxKeyLength } });
    const c = await client(s);
    for (const name of names('huge', 32, maxKeyLength)) {
      expect((await unlessDead(s, c.request(query([name]), 'list'))).items).toHaveLength(ATTACK_SEED_NODES);
    }
    // 29 MB of names were sent; before the fix the cache kept every one.
    await expectRecovered(s, before, CACHE_BOUND);
  });
});

describe('attack 3: the cost of a watch ($in)', { timeout: TEST_TIMEOUT_MS }, () => {
  it('a watch whose $in (or $nin) holds 100,000 numbers is refused with too-large and holds nothing', async () => {
    const { s, before } = await attackServer(DEFAULT);
    const c = await client(s);
    const values = Array.from({ length: 100_000 }, (_, i) => i);
    for (const op of ['$in', '$nin']) {
      const error = await refusal(s, c, JSON.stringify({ handler: 'watch', params: { id: { [op]: values } } }));
      expect(error.params.code).toBe('too-large');
    }
    expect((await s.stats()).watches).toBe(0);
    await expectRecovered(s, before);
  });

  it('100 watches with $in of maxInValues 24-hex ids: accepted until maxWatchBytes, then too-many-watches; a connection holds at most 4 × maxWatchBytes', async () => {
    const maxWatchBytes = 1 * MiB;
    const { s, before } = await attackServer({ maxWatchBytes });
    const conns = [await client(s), await client(s)];
    for (const c of conns) {
      for (let w = 0; w < 100; w++) {
        const hex = randomBytes(12 * DEFAULTS.maxInValues).toString('hex');
        const ids = Array.from({ length: DEFAULTS.maxInValues }, (_, i) => hex.slice(24 * i, 24 * (i + 1)));
        c.send({ handler: 'watch', params: { id: { $in: ids } } });
      }
      const answers: string[] = [];
      while (answers.length < 100) {
        const frame = await unlessDead(s, c.next());
        if (frame.handler === 'list') answers.push('list');
        if (frame.handler === 'error') answers.push(frame.params.code);
      }
      // 100 such watches are 2.7 MB of params, more than the 1 MiB budget: some fit, the rest are refused.
      expect(answers).toContain('list');
      expect(answers).toContain('too-many-watches');
      expect(answers.filter((a) => a !== 'list' && a !== 'too-many-watches')).toEqual([]);
    }
    const held = (await s.memory()) - before;
    expect(held, `${conns.length} connections' watches hold ${mib(held)}`).toBeLessThanOrEqual(conns.length * 4 * maxWatchBytes);
    await expectRecovered(s, before);
  });
});

describe('attack 4: connections that never finish their handshake', { timeout: TEST_TIMEOUT_MS }, () => {
  /** Opens `n` TCP connections that send nothing; they are destroyed after the test. */
  async function silentSockets(s: AttackServer, n: number): Promise<SilentSocket[]> {
    const sockets: SilentSocket[] = [];
    cleanup.push(() => {
      for (const r of sockets) r.socket.destroy();
    });
    for (let i = 0; i < n; i++) sockets.push(await silentSocket(s.url));
    return sockets;
  }
  const ended = (sockets: SilentSocket[]) => sockets.filter((r) => r.isEnded()).length;

  it('sockets that send nothing, or half a header, are closed by the server (handshakeTimeoutMs)', async () => {
    const { s, before } = await attackServer(SHORT_TIMEOUTS);
    const sockets = await silentSockets(s, 21);
    // The last one stops halfway through its headers (no blank line ends them).
    sockets[20]?.socket.write('GET /nodes HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    await waitFor(() => ended(sockets) === sockets.length, CUT_WITHIN, 'the server to close every silent socket');
    await expectRecovered(s, before);
  });

  it('past maxPendingUpgrades silent sockets are cut at once; a client gets in once they are gone', async () => {
    const maxPendingUpgrades = 8;
    // A handshake timeout far beyond the test: only the cap can cut anything here.
    const { s, before } = await attackServer({ maxPendingUpgrades, handshakeTimeoutMs: 600_000 });
    const sockets = await silentSockets(s, 3 * maxPendingUpgrades);
    await waitFor(() => ended(sockets) >= 2 * maxPendingUpgrades, CUT_WITHIN, 'the sockets past the cap to be cut');
    expect(ended(sockets)).toBe(2 * maxPendingUpgrades);
    for (const r of sockets) r.socket.destroy();
    // The server sees our ends asynchronously: retry until its count of pending sockets has come down.
    await waitFor(
      () =>
        expectServes(s).then(
          () => true,
          () => false,
        ),
      CUT_WITHIN,
      'a normal client to get in',
    );
    await expectRecovered(s, before);
  });

  it('past maxConnections the next connection is closed with 1013; one gets in again once another left', async () => {
    const maxConnections = 4;
    const { s, before } = await attackServer({ maxConnections });
    const [first] = await Promise.all(Array.from({ length: maxConnections }, () => client(s)));
    const extra = await client(s);
    expect((await extra.closed()).code).toBe(CloseCode.Overloaded);
    first?.close();
    await waitFor(async () => (await s.stats()).connections === maxConnections - 1, CUT_WITHIN, 'a connection to leave');
    // The others still open: the new one is the fourth.
    await expectServes(s);
    await expectRecovered(s, before);
  });

  it('with ulimit -n 256, 300 silent sockets do not keep a client out once the server cut them', async () => {
    const { s, before } = await attackServer(SHORT_TIMEOUTS, 256);
    const sockets = await silentSockets(s, 300);
    await waitFor(() => ended(sockets) === sockets.length, CUT_WITHIN, 'the server to close every silent socket');
    await expectRecovered(s, before);
  });
});

describe('attack 5: unfinished messages, stalled readers, tokens, endpoints, echoes', { timeout: TEST_TIMEOUT_MS }, () => {
  it('first fragments (FIN=0) whose continuation never comes are closed with 1008 or 1009, and their bytes released', async () => {
    const { s, before } = await attackServer(SHORT_TIMEOUTS);
    const clients: FrameClient[] = [];
    cleanup.push(() => {
      for (const c of clients) c.socket.destroy();
    });
    const start = Buffer.from(`{"handler":"query","params":{"x":"${'x'.repeat(512 * KiB)}`);
    for (let i = 0; i < 16; i++) {
      const c = await frameClient(`${s.url}/nodes`, { 'Sec-WebSocket-Protocol': DEFAULTS.subprotocol });
      clients.push(c);
      c.write(maskedFrame(Opcode.Text, start, { fin: false }));
    }
    const closeCodes = () => clients.flatMap((c) => c.frames.filter((f) => f.opcode === Opcode.Close).map(closeCodeOf));
    await waitFor(() => closeCodes().length === clients.length, CUT_WITHIN, 'every unfinished message to be closed');
    // 1008 is RFC 6455's policy violation, the code `OriginNotAllowed` uses too; 1009 a message too big to finish.
    for (const code of closeCodes()) expect([CloseCode.OriginNotAllowed, CloseCode.TooBig]).toContain(code);
    await expectRecovered(s, before);
  });

  it('stalled readers past maxQueuedBytes are closed with 1013 (the largest first: never the reader), and the reader receives every change', async () => {
    const maxQueuedBytes = 4 * MiB;
    // Per-connection limits far above the flood: only the server-wide budget can close anyone here.
    const slowConsumer = { softBytes: 1024 * MiB, hardBytes: 1024 * MiB, graceMs: 600_000 };
    const { s, before } = await attackServer({ maxQueuedBytes, slowConsumer, closeTimeoutMs: 200 });
    // On catalogs, so that the nodes a normal query reads stay the seed.
    const reader = await client(s, 'catalogs');
    await reader.request({ handler: 'watch', params: {} }, 'list');
    const stalled = await Promise.all(
      [0, 1, 2].map(() =>
        stalledClient(`${s.url}/catalogs`, [{ handler: 'watch', params: {} }], { 'Sec-WebSocket-Protocol': DEFAULTS.subprotocol }),
      ),
    );
    cleanup.push(() => {
      for (const c of stalled) c.drop();
    });
    await waitFor(async () => (await s.stats()).watches === 4, CUT_WITHIN, 'the stalled readers to watch');
    const stalledPorts = stalled.map((c) => c.socket.localPort);
    const closedPorts = async () => new Set((await s.closes()).filter((c) => stalledPorts.includes(c.port)).map((c) => c.port));

    // 1 MiB per round, up to 48 MiB (12 × the budget, beyond what the kernel buffers of three sockets absorb);
    // the reader is waited for after each round, so it is never more than a round behind.
    let flooded = 0;
    for (let round = 0; round < 48 && (await closedPorts()).size < stalled.length; round++) {
      flooded = await s.flood('catalogs', 32, 32 * KiB);
      await waitFor(() => reader.frames.length - 1 >= flooded, CUT_WITHIN, 'the reader to catch up');
    }
    const closes = await s.closes();
    const firstCode = (port: number | undefined) => closes.find((c) => c.port === port)?.code;
    expect(stalledPorts.map(firstCode)).toEqual(stalled.map(() => CloseCode.Overloaded));
    expect(firstCode(portOf(reader))).toBeUndefined();
    expect(reader.frames.filter((f) => f.handler === 'item')).toHaveLength(flooded);
    expect(reader.closeEvent).toBeUndefined();
    await expectRecovered(s, before);
  });

  it('a token in ?token= or in the bearer subprotocol of a refused connection never reaches the log', async () => {
    const { s, before } = await attackServer(AUTHENTICATED);
    const logged = s.process.output().length;
    const secrets = [0, 1, 2].map(() => `SECRET-${randomBytes(8).toString('hex')}`);
    const inQuery = await RawClient.connect(`${s.url}/nodes?token=${secrets[0]}`, [DEFAULTS.subprotocol]);
    const inProtocol = await RawClient.connect(`${s.url}/nodes`, [DEFAULTS.subprotocol, `bearer.${secrets[1]}`]);
    expect([(await inQuery.closed()).code, (await inProtocol.closed()).code]).toEqual([
      CloseCode.Unauthenticated,
      CloseCode.Unauthenticated,
    ]);
    // Admitted (valid bearer) with a token in the query string as well: the URL is not logged with it either.
    const admitted = await RawClient.connect(`${s.url}/nodes?token=${secrets[2]}`, s.protocols());
    await admitted.request({ handler: 'query', params: {} }, 'list');
    admitted.close();
    await admitted.closed();
    // Everything the child wrote before answering is here once the answer is (and one turn later).
    await s.stats();
    await new Promise((r) => setImmediate(r));
    const output = s.process.output();
    expect(output.length, 'the refusals were logged at all').toBeGreaterThan(logged);
    for (const secret of secrets) expect(output).not.toContain(secret);
    await expectRecovered(s, before);
  });

  it('/debug/stats goes through authenticate; /healthz is public and says only ok', async () => {
    const { s, before } = await attackServer(AUTHENTICATED);
    const http = s.url.replace(/^ws:/, 'http:');
    const get = (path: string, token?: string) => fetch(`${http}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    expect((await get('/debug/stats')).status).toBe(401);
    expect((await get('/debug/stats', 'not-the-token')).status).toBe(401);
    const stats = await get('/debug/stats', TOKEN);
    expect(stats.status).toBe(200);
    expect(await stats.json()).toHaveProperty('hub');
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    const body = (await health.text()).trim();
    // Only that it is up, in whichever of the usual spellings: no counts, versions or addresses.
    expect(['ok', '{"ok":true}', '{"status":"ok"}']).toContain(body);
    await expectRecovered(s, before);
  });

  it('an unknown handler whose name is 500 KB long is refused without it', async () => {
    const { s, before } = await attackServer(DEFAULT);
    const c = await client(s);
    const error = await refusal(s, c, JSON.stringify({ handler: `h${randomBytes(250 * KiB).toString('hex')}` }));
    expect(error.params.code).toBe('too-large');
    expect(JSON.stringify(error).length).toBeLessThan(2 * KiB);
    await expectRecovered(s, before);
  });
});
