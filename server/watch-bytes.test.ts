/**
 * The estimate `maxWatchBytes` is spent in: proportional to what a watch says. That it stays above what the heap
 * really holds is measured in `hub-bounds.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { estimateWatchBytes, stringBytes, valueBytes } from './watch-bytes.js';

describe('estimateWatchBytes', () => {
  it('grows with each $in value by its string, its slot and its index entry', () => {
    const ids = (n: number) => ({ id: { $in: Array.from({ length: n }, (_, i) => `${i}`.padStart(24, '0')) } });
    const perValue = estimateWatchBytes('k', ids(101), 101) - estimateWatchBytes('k', ids(100), 100);
    expect(perValue).toBe(stringBytes('0'.repeat(24)) + 8 + 56);
    expect(estimateWatchBytes('k', ids(1_000), 1_000)).toBe(estimateWatchBytes('k', ids(0), 0) + 1_000 * perValue);
  });

  it('counts strings with characters past U+00FF at two bytes a character, as V8 stores them', () => {
    expect(stringBytes('a'.repeat(64))).toBe(16 + 64);
    expect(stringBytes('é'.repeat(64))).toBe(16 + 64);
    expect(stringBytes('€'.repeat(64))).toBe(16 + 128);
    expect(stringBytes('x')).toBe(24);
  });

  it('counts small integers in their slot and other numbers boxed; objects by their properties', () => {
    expect(valueBytes([1, 2, 3])).toBe(48 + 3 * 8);
    expect(valueBytes([1.5, 2 ** 40])).toBe(48 + 2 * 8 + 2 * 16);
    expect(valueBytes({ a: null, b: true })).toBe(56 + 2 * 24);
    expect(estimateWatchBytes('{"a":1}', { a: 1 }, 1)).toBeGreaterThan(estimateWatchBytes('{}', {}, 0));
  });
});
