import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mqMatches, topicMatches } from './topic.js';

const words = (s: string) => s.split('.');

/**
 * An independent oracle: the pattern as a regular expression over the key with a dot before every word (`*` one
 * word, `#` any number of words). It backtracks, which is fine for the short keys it is given here.
 */
function oracle(pattern: string, key: string): boolean {
  const source = words(pattern)
    .map((w) => (w === '#' ? '(?:\\.[^.]*)*' : `\\.${w === '*' ? '[^.]*' : w}`))
    .join('');
  return new RegExp(`^${source}$`).test(`.${key}`);
}

describe('topicMatches', () => {
  it.each([
    ['#', 'info', true],
    ['#', 'graph.finished.g1', true],
    ['*', 'info', true],
    ['*', 'a.b', false],
    ['graph.*.*', 'graph.finished.g1', true],
    ['graph.*', 'graph.finished.g1', false],
    ['graph.*', 'graph', false],
    ['graph.#', 'graph', true],
    ['graph.#', 'graph.progress.updated.information.g1.n1', true],
    ['graph.#', 'node.discovered.information.n1.n1', false],
    ['#.n1', 'graph.started.information.g1.n1', true],
    ['#.n1', 'graph.started.information.g1.n2', false],
    ['a.#.b', 'a.b', true],
    ['a.#.b', 'a.x.y.b', true],
    ['a.#.b', 'a.x.y.c', false],
    ['#.*', '', true],
    ['*.#.*', 'a', false],
    ['#.#', 'a.b.c', true],
    ['error', 'info', false],
    ['error', 'error', true],
  ])('%s on %s: %s', (pattern, key, expected) => {
    expect(topicMatches(words(pattern), words(key))).toBe(expected);
    expect(oracle(pattern, key)).toBe(expected);
  });

  it('agrees with the oracle on generated patterns and keys', () => {
    const word = fc.constantFrom('a', 'b', 'c');
    const pattern = fc.array(fc.oneof(word, fc.constantFrom('*', '#')), { minLength: 1, maxLength: 6 }).map((w) => w.join('.'));
    const key = fc.array(word, { minLength: 1, maxLength: 7 }).map((w) => w.join('.'));
    fc.assert(
      fc.property(pattern, key, (p, k) => topicMatches(words(p), words(k)) === oracle(p, k)),
      { numRuns: 3000 },
    );
  });

  it('answers a pattern of many # on a long key that it does not match (no backtracking)', () => {
    const key = Array.from({ length: 120 }, (_, i) => `w${i}`);
    expect(topicMatches(words(`${'#.'.repeat(40)}x`), key)).toBe(false);
    expect(topicMatches(words(`${'#.'.repeat(40)}w119`), key)).toBe(true);
  });
});

describe('mqMatches', () => {
  const entry = { id: 'e1', exchange: 'on.events', routingKey: 'graph.started.information.g1.n1', payload: {} };

  it('matches the exchange exactly and the routing key as a topic pattern', () => {
    expect(mqMatches(entry, { exchange: 'on.events', routingKey: '#' })).toBe(true);
    expect(mqMatches(entry, { exchange: 'on.events', routingKey: 'graph.#' })).toBe(true);
    expect(mqMatches(entry, { exchange: 'on.events', routingKey: '*.started.#' })).toBe(true);
    expect(mqMatches(entry, { exchange: 'on.events', routingKey: 'graph.*' })).toBe(false);
    expect(mqMatches(entry, { exchange: 'on.events', routingKey: 'node.#' })).toBe(false);
    expect(mqMatches(entry, { exchange: 'on.logging', routingKey: '#' })).toBe(false);
  });

  it('takes a missing routingKey for # (the server does the same)', () => {
    expect(mqMatches(entry, { exchange: 'on.events' })).toBe(true);
    expect(mqMatches(entry, { exchange: 'on.logging' })).toBe(false);
  });

  it('never throws on params or entries the server would refuse or never send', () => {
    expect(mqMatches(entry, { exchange: 'on.events', routingKey: 5 })).toBe(false);
    expect(mqMatches({ id: 'x', exchange: 'on.events' }, { exchange: 'on.events', routingKey: 'graph.#' })).toBe(false);
  });
});
