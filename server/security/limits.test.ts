import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../protocol/index.js';
import { ConnectionCounter, TokenBucket } from './limits.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('TokenBucket', () => {
  it('admits a full burst at once, then nothing until tokens come back', () => {
    const c = clock();
    const bucket = new TokenBucket({ perSecond: 10, burst: 5 }, c.now);
    expect(Array.from({ length: 7 }, () => bucket.take())).toEqual([true, true, true, true, true, false, false]);
    c.advance(100); // one token at 10 per second
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
  });

  it('refills at perSecond up to burst, never beyond', () => {
    const c = clock();
    const bucket = new TokenBucket({ perSecond: 100, burst: 20 }, c.now);
    for (let i = 0; i < 20; i++) bucket.take();
    c.advance(50);
    expect(bucket.available).toBeCloseTo(5);
    c.advance(60_000);
    expect(bucket.available).toBe(20);
    let taken = 0;
    while (bucket.take()) taken++;
    expect(taken).toBe(20);
  });

  it('sustains exactly perSecond over time', () => {
    const c = clock();
    const bucket = new TokenBucket({ perSecond: 50, burst: 1 }, c.now);
    let taken = 0;
    for (let ms = 0; ms < 10_000; ms++) {
      c.advance(1);
      if (bucket.take()) taken++;
    }
    expect(taken).toBe(500);
  });

  it('refuses a limit below one message', () => {
    expect(() => new TokenBucket({ perSecond: 0, burst: 10 })).toThrow(RangeError);
    expect(() => new TokenBucket({ perSecond: 10, burst: 0 })).toThrow(RangeError);
  });

  it('the default burst covers a reconnecting client: init, every watch and a full queue, with room for pings and stops', () => {
    const replay = 1 + DEFAULTS.maxWatches + DEFAULTS.maxQueue;
    expect(replay).toBe(1101);
    expect(DEFAULTS.rateLimit.burst).toBeGreaterThanOrEqual(replay + 1);
    const bucket = new TokenBucket(DEFAULTS.rateLimit, clock().now);
    for (let i = 0; i < replay; i++) expect(bucket.take()).toBe(true);
  });
});

describe('ConnectionCounter', () => {
  it('admits up to max per address, counts addresses apart, and releases', () => {
    const counter = new ConnectionCounter(2);
    expect([counter.acquire('a'), counter.acquire('a'), counter.acquire('a')]).toEqual([true, true, false]);
    expect(counter.acquire('b')).toBe(true);
    expect(counter.count('a')).toBe(2);
    counter.release('a');
    expect(counter.acquire('a')).toBe(true);
    counter.release('a');
    counter.release('a');
    counter.release('b');
    expect(counter.addresses).toBe(0);
  });

  it('with max 0 admits everyone and keeps no state (off by default: proxies and tests share addresses)', () => {
    expect(DEFAULTS.maxConnectionsPerIp).toBe(0);
    const counter = new ConnectionCounter(0);
    for (let i = 0; i < 1000; i++) expect(counter.acquire('10.0.0.1')).toBe(true);
    expect(counter.addresses).toBe(0);
  });
});
