/**
 * The hub's bounds on what one connection's requests cost (issue 10, "cost of a watch proportional to what it
 * says, and capped"): `$in`/`$nin` sizes, the bytes a connection's watches hold, snapshot reads in flight, and the
 * bytes of one `list`. Kept apart from `hub.test.ts` (the engine's behaviour) because these tests measure the heap
 * after a full GC, which wants a file of its own.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { type ServerMessage } from '../protocol/index.js';
import { Hub } from './hub.js';
import type { HubSocket } from './hub-connection.js';
import { MemoryBackend } from './memory.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap in use after a full GC (twice: the first may leave weak and finalised objects for the second). */
function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Records the frames it is sent, parsed, except `list` items (kept as a count, so a test holds little). */
class TestSocket implements HubSocket {
  readonly frames: ServerMessage[] = [];
  private onMsg: (data: string, isBinary: boolean) => void = () => {};
  private onEnd: (code: number, reason: string) => void = () => {};
  send(data: string): void {
    this.frames.push(JSON.parse(data) as ServerMessage);
  }
  close(code: number): void {
    this.onEnd(code, '');
  }
  onMessage(handler: (data: string, isBinary: boolean) => void): void {
    this.onMsg = handler;
  }
  onClose(handler: (code: number, reason: string) => void): void {
    this.onEnd = handler;
  }
  deliver(message: object | string): void {
    this.onMsg(typeof message === 'string' ? message : JSON.stringify(message), false);
  }
  take(): ServerMessage[] {
    return this.frames.splice(0);
  }
  errors(): Array<Extract<ServerMessage, { handler: 'error' }>['params']> {
    return this.take().flatMap((f) => (f.handler === 'error' ? [f.params] : []));
  }
}

const settle = async () => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

/** A 24-hex, ObjectId-shaped id: record `n` of watch `w`. */
const hexId = (w: number, n: number) => w.toString(16).padStart(8, '0') + n.toString(16).padStart(16, '0');

describe('finding 3: memory amplification by $in', () => {
  it('ten watches with $in of 100,000 numbers are refused with too-large, and the heap after GC stays where it was', async () => {
    const hub = new Hub({ source: new MemoryBackend({ seed: {} }) });
    const socket = new TestSocket();
    hub.accept(socket, { channel: 'nodes' });
    await settle();
    const before = heapAfterGc();
    for (let w = 0; w < 10; w++) {
      const values = Array.from({ length: 100_000 }, (_, v) => w * 100_000 + v);
      socket.deliver(`{"handler":"watch","params":{"id":{"$in":[${values.join(',')}]}}}`);
    }
    await settle();
    const grown = heapAfterGc() - before;
    // What the refusals themselves leave behind is noise; 34 MB per watch (before the bound) is not.
    expect(grown, 'heap growth after GC, bytes').toBeLessThan(2 * 1024 * 1024);
    expect(socket.errors().map((e) => e.code)).toEqual(Array(10).fill('too-large'));
    expect(hub.stats().watches).toBe(0);
  });

});
