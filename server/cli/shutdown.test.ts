import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../protocol/index.js';
import { silentLogger } from '../hub/logger.js';
import { handleShutdownSignals } from './shutdown.js';

function setup(close: () => Promise<void>, timeoutMs?: number) {
  const source = new EventEmitter();
  const exits: number[] = [];
  const timers: Array<{ fn: () => void; ms: number }> = [];
  let closes = 0;
  const uninstall = handleShutdownSignals(
    {
      close: () => {
        closes++;
        return close();
      },
    },
    {
      logger: silentLogger,
      signalSource: source as unknown as NodeJS.Process,
      exit: (code) => exits.push(code),
      setTimeout: (fn, ms) => {
        timers.push({ fn, ms });
        return {};
      },
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    },
  );
  return { source, exits, timers, closes: () => closes, uninstall };
}

describe('handleShutdownSignals', () => {
  it.each(['SIGTERM', 'SIGINT'])('%s closes the server once and exits 0 when it has closed', async (signal) => {
    const s = setup(() => Promise.resolve());
    s.source.emit(signal, signal);
    await new Promise((r) => setImmediate(r));
    expect(s.closes()).toBe(1);
    expect(s.exits).toEqual([0]);
  });

  it('exits 1 when closing outlasts the bound (default DEFAULTS.shutdownTimeoutMs)', () => {
    const s = setup(() => new Promise(() => undefined));
    s.source.emit('SIGTERM', 'SIGTERM');
    expect(s.timers.map((t) => t.ms)).toEqual([DEFAULTS.shutdownTimeoutMs]);
    expect(s.exits).toEqual([]);
    s.timers[0]!.fn();
    expect(s.exits).toEqual([1]);
  });

  it('a second signal exits 1 at once; close is not called twice', () => {
    const s = setup(() => new Promise(() => undefined), 500);
    s.source.emit('SIGTERM', 'SIGTERM');
    s.source.emit('SIGINT', 'SIGINT');
    expect(s.closes()).toBe(1);
    expect(s.exits).toEqual([1]);
    expect(s.timers.map((t) => t.ms)).toEqual([500]);
  });

  it('exits 1 when close fails', async () => {
    const s = setup(() => Promise.reject(new Error('broker would not close')));
    s.source.emit('SIGTERM', 'SIGTERM');
    await new Promise((r) => setImmediate(r));
    expect(s.exits).toEqual([1]);
  });

  it('the returned function removes the handlers', () => {
    const s = setup(() => Promise.resolve());
    s.uninstall();
    expect(s.source.listenerCount('SIGTERM') + s.source.listenerCount('SIGINT')).toBe(0);
  });
});
