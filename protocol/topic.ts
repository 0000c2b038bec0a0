/**
 * AMQP topic patterns, as the `mq` channel's params use them (PROTOCOL.md "The mq channel"): the server routes a
 * message to the watches whose pattern its routing key matches, and the client's store, which holds an entry by the
 * watches it matches, must say the same — `matches` would compare `routingKey: '#'` with `'info'` as equal values.
 * One matcher for both sides, so they cannot disagree.
 */
import type { Doc, Params } from './messages.js';

/**
 * Whether routing key `key` matches topic pattern `pattern`, both split into their words at `.`: `*` is exactly one
 * word, `#` zero or more, any other word itself (RabbitMQ's topic exchange).
 */
export function topicMatches(pattern: readonly string[], key: readonly string[]): boolean {
  // reach[j]: the pattern words seen so far can match the first j words of the key. One pass per pattern word, so
  // no pattern (`#.#.#.x`) costs more than words × words, where a backtracking matcher could take exponential time.
  let reach = [true, ...key.map(() => false)];
  for (const word of pattern) {
    let any = false;
    reach = reach.map((reached, j) =>
      // `#` reaches every j from the first j reached; another word moves one key word on, if it is that word.
      word === '#' ? (any ||= reached) : j > 0 && reach[j - 1]! && (word === '*' || word === key[j - 1]),
    );
  }
  return reach[key.length]!;
}

/**
 * Whether an `mq` entry (`{exchange, routingKey, …}`) is one a watch on `params` (`{exchange, routingKey?}`, the
 * routing key a topic pattern, `#` when absent) receives: what the client's store of the `mq` channel uses instead
 * of `matches`.
 */
export function mqMatches(entry: Doc, params: Params): boolean {
  return (
    entry.exchange === params.exchange && topicMatches(String(params.routingKey ?? '#').split('.'), String(entry.routingKey).split('.'))
  );
}
