/**
 * What one watch costs the hub: heap after a full GC with N watches held, minus the heap before, divided by N.
 * Each watch is `{id: {$in: [1,000 distinct 24-hex ids]}}` (a RackHD UI following a set of nodes; every watch a
 * distinct filter, so nothing is shared) on connections of `maxWatches` watches each, over an in-process hub with a
 * socket that drops what it is sent. Prints JSON: bytes per watch, the frame size and their ratio (issue 10's target:
 * at most 4× the frame).
 *
 *   node --expose-gc --import tsx bench/watch-cost.ts [--watches 400] [--values 1000] [--numbers]
 *
 * `--numbers`: `$in` of consecutive numbers instead of ids (issue 10's finding 3 sent 100,000 of them).
 */
import { DEFAULTS } from '../protocol/index.js';
import { Hub } from '../server/hub/hub.js';
import type { HubSocket, SocketEvents } from '../server/hub/socket.js';
import { MemoryBackend } from '../server/sources/memory.js';
import { hexId } from './data.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(name);
  return i < 0 ? fallback : Number(args[i + 1]);
};
const watches = opt('--watches', 400);
const values = opt('--values', DEFAULTS.maxInValues);
const numbers = args.includes('--numbers');

/** A socket that keeps nothing it is sent (only counts the errors, so a refused watch is not measured as held). */
class NullSocket implements HubSocket {
  conn: SocketEvents | undefined;
  errors = 0;
  send(data: string): void {
    if (data.startsWith('{"handler":"error"')) this.errors++;
  }
  close(): void {}
  onMessage(): void {}
  onClose(): void {}
  attach(conn: SocketEvents): void {
    this.conn = conn;
  }
}

function frameOf(w: number): string {
  const list = Array.from({ length: values }, (_, v) => (numbers ? w * values + v : hexId(0x5107_0000 + w, v)));
  return JSON.stringify({ handler: 'watch', params: { id: { $in: list } } });
}

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

const hub = new Hub({ source: new MemoryBackend({ seed: {} }), maxWatches: DEFAULTS.maxWatches, maxWatchBytes: Number.MAX_SAFE_INTEGER });
const sockets: NullSocket[] = [];
const frameBytes = Buffer.byteLength(frameOf(0));
await settle();
const before = heap();
for (let w = 0; w < watches; w++) {
  if (w % DEFAULTS.maxWatches === 0) {
    const socket = new NullSocket();
    hub.accept(socket, { channel: 'nodes' });
    sockets.push(socket);
  }
  // Built and dropped one at a time, as frames arrive: only what the hub keeps stays.
  sockets.at(-1)!.conn!.receive(frameOf(w), false);
  if (w % 50 === 49) await settle();
}
await settle();
const after = heap();
const refused = sockets.reduce((n, s) => n + s.errors, 0);
const held = hub.stats().watches;
if (refused > 0 || held !== watches) throw new Error(`${refused} watches refused, ${held} held`);
const perWatch = (after - before) / watches;
process.stdout.write(
  `${JSON.stringify({ watches, values, kind: numbers ? 'numbers' : '24-hex ids', frameBytes, bytesPerWatch: Math.round(perWatch), ratio: +(perWatch / frameBytes).toFixed(2) })}\n`,
);
