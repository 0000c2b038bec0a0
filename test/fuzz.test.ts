/**
 * Fuzzing the real server process with fast-check: FUZZ_FRAMES (default 20,000) generated hostile frames over
 * several connections at once. Every frame must be answered with frames the client SDK's own parser accepts, or
 * close the connection exactly when the protocol says so (1009 over maxPayload, 1007 for invalid UTF-8). Afterwards
 * the process still runs and logged no error, a normal query is answered correctly, no connection state is left
 * behind, no built-in prototype changed, and the heap after a full GC is back within HEAP_BOUND of where it was
 * before. FUZZ_SEED replays a run.
 *
 * The server runs with the message-rate limit raised so every frame reaches the parser (with the default limit a
 * connection is closed after 1,200 frames, which test/limits.test.ts covers); every other setting is the default.
 */
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, ERROR_CODES, overBudget, parseMessage, type ServerMessage } from '../protocol/index.js';
import type { DebugStats } from '../server/ws/debug-stats.js';
import { demoFixtures } from '../server/demo/fixtures.js';
import {
  fuzzFrame,
  GRAMMAR_BOMBS,
  GRAMMAR_HANDLERS,
  GRAMMAR_SLOTS,
  grammarBatch,
  type FuzzFrame,
  type GrammarFrame,
} from './support/fuzz-frames.js';
import { RawClient } from './support/raw-client.js';
import { byId } from './support/records.js';
import { WAIT_TIMEOUT_MS, waitFor } from './support/wait.js';
import { startServer, type ServerProcess } from './support/processes.js';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 20_000);
/** Grammar mode: rounds of every handler × every slot × every bomb (256 frames a round). */
const GRAMMAR_ROUNDS = Number(process.env.FUZZ_GRAMMAR_ROUNDS ?? 1);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;
const CONNECTIONS = 6;
const BATCH = 120;
/** How much more heap (after a full GC) the server may hold once every fuzz connection is gone. */
const HEAP_BOUND = 8 * 1024 * 1024;
/** RSS ceiling after the run: frames of up to 1 MiB were parsed, and the allocator keeps some of that memory. */
const RSS_BOUND = 256 * 1024 * 1024;

let proc: ServerProcess;
beforeAll(async () => {
  proc = await startServer(['--port', '0', '--debug-stats', '--rate-limit', '1000000/1000000'], { NODE_OPTIONS: '--expose-gc' });
});
afterAll(async () => {
  await proc?.stop('SIGKILL');
});

async function stats(): Promise<DebugStats> {
  const res = await fetch(`${proc.url.replace('ws:', 'http:')}/debug/stats?gc=1`);
  return (await res.json()) as DebugStats;
}

/** A reply as the fuzzer received it. */
interface Reply {
  readonly message: ServerMessage;
  /** Characters of its JSON text. */
  readonly length: number;
}

/** One fuzzing connection: sends frames, checks every reply, and reconnects after an expected close. */
class Fuzzer {
  private ws!: WebSocket;
  private syncs = 0;
  private readonly seen = new Set<string>();
  private closeCode: number | undefined;
  /** Frames the server is known to have parsed (acknowledged by a later sync, or by the close they caused). */
  processed = 0;
  replies = 0;
  readonly problems: string[] = [];
  readonly closes: Record<string, number> = {};
  /** While set, every reply is kept here with its length (`exchange`). */
  private recording: Reply[] | undefined;

  async open(): Promise<void> {
    const ws = new WebSocket(`${proc.url}/nodes`, { maxPayload: 64 * 1024 * 1024 });
    this.ws = ws;
    this.closeCode = undefined;
    ws.on('message', (data, isBinary) => {
      this.replies++;
      if (isBinary) return void this.problems.push('the server sent a binary frame');
      let m: ServerMessage;
      try {
        m = parseMessage(String(data), 'server');
      } catch (err) {
        return void this.problems.push(`a reply the client cannot parse: ${(err as Error).message}: ${String(data).slice(0, 200)}`);
      }
      if (m.handler === 'error' && !Object.hasOwn(ERROR_CODES, m.params.code)) this.problems.push(`unknown error code ${m.params.code}`);
      if (m.handler === 'remove' && m.id?.startsWith('sync-')) this.seen.add(m.id);
      else this.recording?.push({ message: m, length: String(data).length });
    });
    ws.on('close', (code) => (this.closeCode = code));
    ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
  }

  /** Waits until the server has parsed everything sent so far on this connection (replies come in order). */
  async sync(pending: number): Promise<void> {
    const id = `sync-${++this.syncs}`;
    this.ws.send(JSON.stringify({ handler: 'get', resource: 'nodes', params: { id } }));
    await waitFor(() => this.seen.has(id) || this.closeCode !== undefined, 30_000, `sync ${id}`);
    if (this.closeCode !== undefined) throw new Error(`connection closed unexpectedly with ${this.closeCode}`);
    this.processed += pending;
  }

  async run(frames: readonly FuzzFrame[]): Promise<void> {
    let pending = 0;
    for (const f of frames) {
      if (f.expectClose !== undefined) {
        await this.sync(pending);
        pending = 0;
        this.write(f);
        await waitFor(() => this.closeCode, 30_000, `close after ${f.kind}`);
        if (this.closeCode !== f.expectClose) this.problems.push(`${f.kind} closed with ${this.closeCode}, expected ${f.expectClose}`);
        this.closes[this.closeCode!] = (this.closes[this.closeCode!] ?? 0) + 1;
        this.processed++;
        await this.open();
        continue;
      }
      this.write(f);
      pending++;
    }
    await this.sync(pending);
  }

  /** Sends one frame and resolves with every reply to it (up to the next sync; this connection does nothing else meanwhile). */
  async exchange(f: FuzzFrame): Promise<Reply[]> {
    const replies: Reply[] = (this.recording = []);
    this.write(f);
    await this.sync(1);
    this.recording = undefined;
    return replies;
  }

  close(): void {
    this.ws.close();
  }

  private write(f: FuzzFrame): void {
    if ('text' in f) this.ws.send(f.text);
    else this.ws.send(f.bytes, { binary: f.binary });
  }
}

describe(`fuzzing the server process with ${FRAMES.toLocaleString('en-US')} generated frames`, () => {
  it(
    'answers every frame with valid frames or the right close, and is healthy, unpolluted and back within its memory bound afterwards',
    async () => {
      const fuzzers = Array.from({ length: CONNECTIONS }, () => new Fuzzer());
      await Promise.all(fuzzers.map((f) => f.open()));
      // Warm up (code compiled, caches filled) before the baseline, so the bound measures what the run retains.
      await fuzzers[0]!.run(fc.sample(fuzzFrame, { numRuns: 200, seed: 1 }).filter((f) => f.expectClose === undefined));
      for (const f of fuzzers) f.processed = 0;
      const before = await stats();
      expect(before.gc).toBe(true);

      const kinds: Record<string, number> = {};
      await fc.assert(
        fc.asyncProperty(fc.array(fuzzFrame, { minLength: BATCH, maxLength: BATCH }), async (frames) => {
          for (const f of frames) kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
          const share = Math.ceil(frames.length / CONNECTIONS);
          await Promise.all(fuzzers.map((fz, i) => fz.run(frames.slice(i * share, (i + 1) * share))));
          const problems = fuzzers.flatMap((fz) => fz.problems.splice(0));
          expect(problems).toEqual([]);
          expect(proc.proc.exitCode).toBeNull();
        }),
        { numRuns: Math.ceil(FRAMES / BATCH), endOnFailure: true, ...(SEED !== undefined ? { seed: SEED } : {}) },
      );

      const processed = fuzzers.reduce((n, f) => n + f.processed, 0);
      expect(processed).toBeGreaterThanOrEqual(FRAMES);
      for (const kind of [
        'valid',
        'wrong-types',
        'injection',
        'pollution',
        'truncated',
        'random-text',
        'binary',
        'nested',
        'deep-nested',
        'huge-string',
        'oversized',
        'invalid-utf8',
      ]) {
        expect(kinds[kind], kind).toBeGreaterThan(0);
      }

      // A normal query on a fresh connection is answered correctly.
      const c = await RawClient.connect(`${proc.url}/nodes`);
      const list = await c.request({ handler: 'query', params: { type: 'compute' } }, 'list');
      expect(byId(list.items)).toEqual(byId(demoFixtures().nodes!.filter((n) => n.type === 'compute')));
      c.close();

      for (const f of fuzzers) f.close();
      // Wait for the server to see every close, then measure.
      const after = await waitFor(
        async () => {
          const now = await stats();
          return now.hub.connections === 0 && now;
        },
        WAIT_TIMEOUT_MS,
        'the server to see every fuzzing connection close',
      );
      expect(after.hub).toMatchObject({ connections: 0, watches: 0 });
      expect(after.prototypes).toEqual(before.prototypes);
      expect(after.memory.heapUsed - before.memory.heapUsed).toBeLessThanOrEqual(HEAP_BOUND);
      expect(after.memory.rss).toBeLessThanOrEqual(RSS_BOUND);
      expect(proc.proc.exitCode).toBeNull();
      expect(proc.output()).not.toMatch(/^\S+ error |uncaught|unhandled/im);
      if (process.env.FUZZ_REPORT) {
        process.stdout.write(
          `fuzz: ${JSON.stringify({ processed, kinds, closes: fuzzers.map((f) => f.closes), replies: fuzzers.reduce((n, f) => n + f.replies, 0), heapBefore: before.memory.heapUsed, heapAfter: after.memory.heapUsed, rssBefore: before.memory.rss, rssAfter: after.memory.rss })}\n`,
        );
      }
    },
    60_000 + FRAMES * 3,
  );
});

/**
 * What is wrong with the replies to a grammar frame: one over the budget gets exactly one `too-large` naming the
 * budget, whose echo holds no name over maxKeyLength and no params over the budget (params within it are echoed,
 * even when the rest of the frame is over); one within gets no such refusal (other causes of `too-large`, like `$in`
 * lists or snapshot bytes, name their own bound); no error reply is larger than the frame plus three names.
 */
function judge(f: GrammarFrame, replies: readonly Reply[]): string[] {
  const what = f[fc.toStringMethod]();
  const budget = DEFAULTS.inputBudget;
  const problems: string[] = [];
  const refusals = replies.filter(
    (r) => r.message.handler === 'error' && r.message.params.code === 'too-large' && /inputBudget\./.test(r.message.params.message),
  );
  if (f.over) {
    // Only the refusal: a list may still come in from an earlier frame whose read waited for the coalescing window.
    const errors = replies.filter((r) => r.message.handler === 'error');
    const reply = refusals[0];
    if (errors.length !== 1 || !reply)
      return [`${what}: expected one too-large, got ${JSON.stringify(replies.map((r) => r.message)).slice(0, 300)}`];
    const request = reply!.message.handler === 'error' ? reply!.message.params.request : undefined;
    if (request && (request.handler.length > budget.maxKeyLength || (request.resource?.length ?? 0) > budget.maxKeyLength))
      problems.push(`${what}: an oversized name echoed`);
    if (request && 'params' in request && overBudget(request.params, budget, 2)) problems.push(`${what}: oversized params echoed`);
  } else if (refusals.length > 0) {
    problems.push(`${what}: refused as ${refusals[0]!.message.handler === 'error' && refusals[0]!.message.params.message}`);
  }
  for (const r of replies) {
    // A name (≤ maxKeyLength) may stand in the message, the echo and the reply's resource: three times at most.
    if (r.message.handler === 'error' && r.length > f.text.length + 3 * budget.maxKeyLength + 512)
      problems.push(`${what}: an error reply of ${r.length} characters`);
  }
  return problems;
}

describe(`grammar mode: ${GRAMMAR_ROUNDS} rounds of every handler × every field × nesting, keys, arrays and strings at and past the input budget`, () => {
  it('refuses exactly what is over the budget with too-large and nothing oversized in the reply, and stays alive and within its memory bound', async () => {
    const fuzzers = Array.from({ length: CONNECTIONS }, () => new Fuzzer());
    await Promise.all(fuzzers.map((f) => f.open()));
    // Warm up with one round's worth of small frames (the code paths compiled), then the baseline.
    const warmup = fc.sample(grammarBatch, { numRuns: 1, seed: 1 })[0]!.filter((f) => f.text.length < 100_000);
    for (const f of warmup) await fuzzers[0]!.exchange(f);
    const before = await stats();

    const seen = { handlers: new Set<string>(), slots: new Set<string>(), bombs: new Set<string>(), over: 0, within: 0 };
    await fc.assert(
      fc.asyncProperty(grammarBatch, async (frames) => {
        const problems: string[] = [];
        await Promise.all(
          fuzzers.map(async (fz, i) => {
            for (let k = i; k < frames.length; k += fuzzers.length) {
              const f = frames[k]!;
              problems.push(...judge(f, await fz.exchange(f)));
              seen.handlers.add(f.handler);
              seen.slots.add(f.slot);
              seen.bombs.add(f.bomb);
              if (f.over) seen.over++;
              else seen.within++;
            }
          }),
        );
        problems.push(...fuzzers.flatMap((fz) => fz.problems.splice(0)));
        expect(problems).toEqual([]);
        expect(proc.proc.exitCode).toBeNull();
      }),
      { numRuns: GRAMMAR_ROUNDS, endOnFailure: true, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    expect([...seen.handlers].sort()).toEqual([...GRAMMAR_HANDLERS].sort());
    expect([...seen.slots].sort()).toEqual([...GRAMMAR_SLOTS].sort());
    expect([...seen.bombs].sort()).toEqual([...GRAMMAR_BOMBS].sort());
    expect(seen.over).toBeGreaterThan(0);
    expect(seen.within).toBeGreaterThan(0);

    const c = await RawClient.connect(`${proc.url}/nodes`);
    const list = await c.request({ handler: 'query', params: { type: 'compute' } }, 'list');
    expect(byId(list.items)).toEqual(byId(demoFixtures().nodes!.filter((n) => n.type === 'compute')));
    c.close();
    for (const f of fuzzers) f.close();
    let after = await stats();
    for (let i = 0; i < 500 && after.hub.connections > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      after = await stats();
    }
    expect(after.hub).toMatchObject({ connections: 0, watches: 0 });
    expect(after.prototypes).toEqual(before.prototypes);
    expect(after.memory.heapUsed - before.memory.heapUsed).toBeLessThanOrEqual(HEAP_BOUND);
    expect(after.memory.rss).toBeLessThanOrEqual(RSS_BOUND);
    expect(proc.proc.exitCode).toBeNull();
    expect(proc.output()).not.toMatch(/^\S+ error |uncaught|unhandled/im);
    if (process.env.FUZZ_REPORT) {
      process.stdout.write(
        `fuzz grammar: ${JSON.stringify({ rounds: GRAMMAR_ROUNDS, over: seen.over, within: seen.within, heapBefore: before.memory.heapUsed, heapAfter: after.memory.heapUsed, rssAfter: after.memory.rss })}\n`,
      );
    }
  }, 120_000);
});
