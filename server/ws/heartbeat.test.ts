import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../protocol/index.js';
import { startHeartbeat, type IntervalTimers } from './heartbeat.js';
import { silentLogger } from '../hub/logger.js';

class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 1;
  pings = 0;
  terminated = false;
  ping(): void {
    this.pings++;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
    this.emit('close');
  }
}

function rounds() {
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
  return {
    timers,
    round: () => fn?.(),
    get ms() {
      return ms;
    },
    get running() {
      return fn !== undefined;
    },
  };
}

describe('server heartbeat', () => {
  it('starts with the first connection, pings every interval (default 15 s) and terminates a connection that did not answer the previous ping', () => {
    expect(DEFAULTS.heartbeatMs).toBe(15_000);
    const r = rounds();
    const hb = startHeartbeat(DEFAULTS.heartbeatMs, silentLogger, r.timers);
    expect(r.running).toBe(false);
    const live = new FakeSocket();
    const dead = new FakeSocket();
    hb.track(live as unknown as WebSocket);
    hb.track(dead as unknown as WebSocket);
    expect(r.ms).toBe(15_000);
    r.round();
    expect([live.pings, dead.pings]).toEqual([1, 1]);
    live.emit('pong');
    r.round();
    expect(live.terminated).toBe(false);
    expect(dead.terminated).toBe(true);
    expect(live.pings).toBe(2);
    expect(hb.size).toBe(1);
  });

  it('any message counts as an answer', () => {
    const r = rounds();
    const hb = startHeartbeat(100, silentLogger, r.timers);
    const ws = new FakeSocket();
    hb.track(ws as unknown as WebSocket);
    for (let i = 0; i < 5; i++) {
      r.round();
      ws.emit('message', '{}');
    }
    expect(ws.terminated).toBe(false);
    expect(ws.pings).toBe(5);
  });

  it('forgets closed connections, and stop() ends the rounds', () => {
    const r = rounds();
    const hb = startHeartbeat(100, silentLogger, r.timers);
    const ws = new FakeSocket();
    hb.track(ws as unknown as WebSocket);
    ws.emit('close');
    expect(hb.size).toBe(0);
    hb.stop();
    expect(r.running).toBe(false);
  });

  it('0 turns it off: no timer, nothing tracked', () => {
    const r = rounds();
    const hb = startHeartbeat(0, silentLogger, r.timers);
    hb.track(new FakeSocket() as unknown as WebSocket);
    expect(r.running).toBe(false);
    expect(hb.size).toBe(0);
  });
});
