/**
 * The unfinished-message sweep: `messageInProgress` against the installed `ws`'s own Receiver fed raw frames (so
 * a `ws` upgrade that renames its internals fails here, not silently in production), and the sweep's marks with
 * injected timers and clock. The end-to-end case (a first fragment with no continuation closes with 1008) is in
 * test/transport-bounds.test.ts.
 */
import { createRequire } from 'node:module';
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { CloseCode, DEFAULTS } from '../../protocol/index.js';
import { maskedFrame, Opcode } from '../../test/support/raw-socket.js';
import { fragmentSweep, messageInProgress } from './fragment-timeout.js';
import type { IntervalTimers } from './heartbeat.js';
import { silentLogger, type Logger } from '../hub/logger.js';

// @types/ws does not declare the Receiver class ws exports.
const { Receiver } = createRequire(import.meta.url)('ws') as { Receiver: new (options: object) => Writable };

/** A `ws`-like socket around a real Receiver, as the sweep sees it. */
function receiving() {
  const receiver = new Receiver({ isServer: true, maxPayload: DEFAULTS.maxPayload });
  const messages: string[] = [];
  receiver.on('message', (data: Buffer) => messages.push(String(data)));
  const closes: number[] = [];
  const ws = {
    OPEN: 1,
    readyState: 1,
    _receiver: receiver,
    hubSocket: { unfinishedSince: -1, remoteAddress: '127.0.0.1', close: (code: number) => closes.push(code) },
  };
  return { ws, receiver, messages, closes, asWs: ws as unknown as WebSocket };
}

function sweeping(timeoutMs: number, clients: () => Iterable<unknown>, logger: Logger = silentLogger) {
  let fn: (() => void) | undefined;
  let ms = 0;
  const timers: IntervalTimers = {
    setInterval: (f, interval) => {
      fn = f;
      ms = interval;
      return { unref() {} };
    },
    clearInterval: () => (fn = undefined),
  };
  const sweep = fragmentSweep(timeoutMs, clients as () => Iterable<WebSocket>, logger, timers);
  return {
    sweep,
    /** Runs one sweep (the interval's timer firing). */
    tick() {
      fn?.();
    },
    get intervalMs() {
      return ms;
    },
    get running() {
      return fn !== undefined;
    },
  };
}

describe('messageInProgress (ws 8 Receiver)', () => {
  it('is false between messages, true after a first fragment (FIN=0) until the last one, and after part of a frame', () => {
    const { receiver, messages, asWs } = receiving();
    expect(messageInProgress(asWs)).toBe(false);
    receiver.write(maskedFrame(Opcode.Text, Buffer.from('{"handler":'), { fin: false }));
    expect(messageInProgress(asWs)).toBe(true);
    // A ping between fragments (allowed by RFC 6455) does not finish the message.
    receiver.write(maskedFrame(Opcode.Ping, Buffer.alloc(0)));
    expect(messageInProgress(asWs)).toBe(true);
    receiver.write(maskedFrame(Opcode.Continuation, Buffer.from('"init"}')));
    expect(messageInProgress(asWs)).toBe(false);
    expect(messages).toEqual(['{"handler":"init"}']);

    const frame = maskedFrame(Opcode.Text, Buffer.from('x'.repeat(1000)));
    receiver.write(frame.subarray(0, 1));
    expect(messageInProgress(asWs)).toBe(true);
    receiver.write(frame.subarray(1, 8));
    expect(messageInProgress(asWs)).toBe(true);
    receiver.write(frame.subarray(8));
    expect(messageInProgress(asWs)).toBe(false);
    expect(messages).toHaveLength(2);
  });

  it('is undefined for a receiver that does not look like ws 8, false for a socket without one', () => {
    expect(messageInProgress({ _receiver: { state: 0 } } as unknown as WebSocket)).toBeUndefined();
    expect(messageInProgress({ _receiver: null } as unknown as WebSocket)).toBe(false);
  });
});

describe('fragmentSweep', () => {
  it('sweeps every quarter of the timeout from the first start, marks a message in progress, and closes with 1008 once the mark is a timeout old', () => {
    const c = receiving();
    const s = sweeping(1000, () => [c.ws]);
    expect(s.running).toBe(false);
    s.sweep.start();
    expect(s.intervalMs).toBe(250);
    s.tick();
    c.receiver.write(maskedFrame(Opcode.Text, Buffer.from('{"hand'), { fin: false }));
    // Sweep 2 marks it; sweeps 3 to 5 are less than a timeout later; sweep 6 is four quarters after the mark.
    s.tick();
    expect(c.ws.hubSocket.unfinishedSince).toBe(2);
    s.tick();
    s.tick();
    s.tick();
    expect(c.closes).toEqual([]);
    s.tick();
    expect(c.closes).toEqual([CloseCode.PolicyViolation]);
    expect(s.sweep.closed).toBe(1);
  });

  it('a message that completes between sweeps is never cut, even when the next one is in progress at every sweep', () => {
    const c = receiving();
    const s = sweeping(1000, () => [c.ws]);
    s.sweep.start();
    for (let i = 0; i < 20; i++) {
      // Each sweep finds a message in progress, but a different one: the previous one completed (the adapter
      // clears the mark on every complete message).
      c.receiver.write(maskedFrame(Opcode.Text, Buffer.from('{"a":'), { fin: false }));
      s.tick();
      c.receiver.write(maskedFrame(Opcode.Continuation, Buffer.from('1}')));
      c.ws.hubSocket.unfinishedSince = -1;
    }
    expect(c.closes).toEqual([]);
    expect(c.messages).toHaveLength(20);
  });

  it('skips refused and closing connections; 0 sweeps nothing; a receiver it does not know stops it with one warning', () => {
    const refused = { ...receiving().ws, hubSocket: undefined };
    const closing = receiving();
    closing.ws.readyState = 2;
    closing.receiver.write(maskedFrame(Opcode.Text, Buffer.from('x'), { fin: false }));
    const s = sweeping(100, () => [refused, closing.ws]);
    s.sweep.start();
    for (let i = 0; i < 10; i++) s.tick();
    expect(closing.closes).toEqual([]);

    const off = sweeping(0, () => [closing.ws]);
    off.sweep.start();
    expect(off.running).toBe(false);

    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (m) => warnings.push(m) };
    const odd = { ...receiving().ws, _receiver: { renamed: true } };
    const stopped = sweeping(100, () => [odd], logger);
    stopped.sweep.start();
    stopped.tick();
    expect(stopped.running).toBe(false);
    stopped.sweep.start();
    expect(stopped.running).toBe(false);
    expect(warnings).toEqual([expect.stringContaining('fragmentTimeoutMs is not enforced')]);
  });
});
