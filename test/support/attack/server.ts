/**
 * The server under attack, in a process of its own (the attack suite must see it crash, not crash with it):
 * `createServer` on the memory backend with the options given as JSON, logging every line (debug level) to
 * stdout so a test can search the output for what must never be logged.
 *
 * Usage (by `startAttackServer` in harness.ts):
 *   node --expose-gc --import tsx test/support/attack/server.ts '{"port":0,"handshakeTimeoutMs":300,…}'
 * The options are `createServer`'s, plus `tokens`: a list of valid bearer tokens, which sets `authenticate` to a
 * `bearerVerifier` accepting exactly those (a function cannot travel as JSON). The harness sends a small seed.
 *
 * It answers IPC requests `{id, op, …}` with `{id, result}` (`AttackRequest` in harness.ts), records every close code the
 * server sends (ws's `close` and `terminate`, by the peer's port, for tests of who was closed and how), and
 * exits when its parent goes away.
 */
import { WebSocket } from 'ws';
import type { Doc } from '../../../protocol/index.js';
import { bearerVerifier, createServer, lineLogger, type MemoryBackend } from '../../../server/index.js';
// Types only: the harness imports vitest, which must not load here.
import type { AttackRequest, AttackServerOptions, SentClose } from './harness.js';

const { tokens, ...options } = JSON.parse(process.argv[2] ?? '{}') as AttackServerOptions;

const closes: SentClose[] = [];
// Instrumentation of the test process, not of the server: whichever part of the server closes a socket, it goes
// through ws's WebSocket, the class every connection (ours is a subclass) inherits these from.
type Peer = { _socket?: { remotePort?: number } | null };
const { close, terminate } = WebSocket.prototype;
WebSocket.prototype.close = function (this: WebSocket & Peer, code?: number, reason?: string | Buffer) {
  closes.push({ port: this._socket?.remotePort, code: code ?? 1005 });
  close.call(this, code, reason);
};
WebSocket.prototype.terminate = function (this: WebSocket & Peer) {
  closes.push({ port: this._socket?.remotePort, code: -1 });
  terminate.call(this);
};

const server = await createServer({
  port: 0,
  host: '127.0.0.1',
  logger: lineLogger((line) => process.stdout.write(`${line}\n`), 'debug'),
  ...options,
  ...(tokens ? { authenticate: bearerVerifier((token) => (tokens.includes(token) ? { token: 'valid' } : null)) } : {}),
});

// createServer made one: no `source` or `mongo` was given.
const backend = server.backend as MemoryBackend;
const gc = (globalThis as { gc?: () => void }).gc;
let flooded = 0;

function answer(request: AttackRequest): unknown {
  switch (request.op) {
    case 'memory':
      if (!gc) throw new Error('attack-server needs --expose-gc');
      // Twice: the first full GC may leave what only a finalizer run releases.
      gc();
      gc();
      return process.memoryUsage();
    case 'rss':
      return process.memoryUsage().rss;
    case 'stats':
      return server.hub.stats();
    case 'flood':
      for (let i = 0; i < request.n; i++) {
        const doc: Doc = { id: `flood-${flooded % 8}`, seq: flooded, blob: 'x'.repeat(request.size) };
        backend.upsert(request.channel, doc);
        flooded++;
      }
      return flooded;
    case 'closes':
      return closes;
  }
}

process.on('message', (message: AttackRequest & { id: number }) => {
  let reply: { id: number; result?: unknown; error?: string };
  try {
    reply = { id: message.id, result: answer(message) };
  } catch (err) {
    reply = { id: message.id, error: String(err) };
  }
  process.send?.(reply);
});
process.on('disconnect', () => process.exit(0));
process.stdout.write(`attack server listening on ${server.url}\n`);
