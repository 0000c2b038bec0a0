import { describe, expect, it } from 'vitest';
import { DEFAULTS } from './codes.js';
import { backoffDelay } from './backoff.js';

const seq = (n: number, ...args: [Parameters<typeof backoffDelay>[1], () => number]) =>
  Array.from({ length: n }, (_, i) => backoffDelay(i, ...args));

describe('backoffDelay', () => {
  it('grows the cap by factor from baseMs, full jitter scaling it by random()', () => {
    expect(seq(6, {}, () => 0.5)).toEqual([250, 500, 1000, 2000, 4000, 8000]);
    expect(seq(4, { baseMs: 100, factor: 3 }, () => 0.25)).toEqual([25, 75, 225, 675]);
  });

  it('never exceeds maxMs, even for huge attempt numbers', () => {
    expect(seq(10, {}, () => 0.999_999).slice(-3)).toEqual([30_000, 30_000, 30_000]);
    expect(backoffDelay(10_000, {}, () => 1)).toBe(DEFAULTS.backoff.maxMs);
    expect(backoffDelay(5, { baseMs: 100, maxMs: 1000 }, () => 1)).toBe(1000);
  });

  it('full jitter reaches down to 0', () => {
    expect(backoffDelay(7, {}, () => 0)).toBe(0);
  });

  it('jitter 0 is the plain exponential cap, whatever random() says', () => {
    expect(seq(5, { jitter: 0 }, () => 0.123)).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(seq(3, { jitter: 0, baseMs: 0 }, Math.random)).toEqual([0, 0, 0]);
  });

  it('partial jitter keeps at least (1 - jitter) of the cap', () => {
    expect(backoffDelay(0, { jitter: 0.5 }, () => 0)).toBe(250);
    expect(backoffDelay(0, { jitter: 0.5 }, () => 1)).toBe(500);
  });

  it('rounds to whole ms and treats a negative attempt as the first', () => {
    expect(backoffDelay(0, { baseMs: 3 }, () => 0.5)).toBe(2);
    expect(backoffDelay(-1, {}, () => 1)).toBe(500);
  });

  it('uses DEFAULTS.backoff and Math.random when nothing is given', () => {
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(2);
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(DEFAULTS.backoff.baseMs * DEFAULTS.backoff.factor ** 2);
    }
  });

  it("is the RabbitMQ link's reconnect policy with DEFAULTS.amqpBackoff: each delay in the upper half of its cap, up to 10 s", () => {
    const policy = DEFAULTS.amqpBackoff;
    expect(seq(6, policy, () => 0)).toEqual([250, 500, 1000, 2000, 4000, 5000]);
    expect(seq(7, policy, () => 0.999_999).slice(-2)).toEqual([10_000, 10_000]);
    // What the link computed before it used this function: min(maxMs, baseMs * 2 ** attempt), randomised into its upper half.
    for (const r of [0, 0.1, 0.25, 0.5, 0.73, 0.999]) {
      for (let attempt = 0; attempt < 8; attempt++) {
        const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** attempt);
        expect(backoffDelay(attempt, policy, () => r)).toBe(Math.round(cap / 2 + (r * cap) / 2));
      }
    }
  });
});
