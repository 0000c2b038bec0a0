/**
 * Retry policy as data: a pure function of the attempt number, the policy and a source of randomness, so it is
 * tested alone and a test can pin every delay (phoenix `timer.js`, graphql-ws `retryWait`). The client's reconnect
 * and the server's RabbitMQ link both wait with it; each has its own entry in `DEFAULTS`.
 */
import { CLIENT_DEFAULTS as DEFAULTS } from './codes.js';

/**
 * How long to wait before each retry. The `@default`s are the client's (`DEFAULTS.backoff`); the RabbitMQ link
 * uses `DEFAULTS.amqpBackoff`.
 */
export interface BackoffPolicy {
  /**
   * Delay cap of the first retry, in ms.
   * @default 500
   */
  baseMs: number;
  /**
   * Upper bound of any delay, in ms.
   * @default 30000
   */
  maxMs: number;
  /**
   * Growth of the cap per attempt.
   * @default 2
   */
  factor: number;
  /**
   * Share of the cap that is randomised: `1` is full jitter (anything from 0 to the cap), `0` is none (always the cap).
   * Full jitter spreads a herd of clients that lost one server over the whole window instead of a few spikes.
   * @default 1
   */
  jitter: number;
}

/**
 * The delay before retry `attempt` (0 for the first retry), in whole ms:
 * `cap = min(maxMs, baseMs * factor ** attempt)`, `delay = cap * (1 - jitter + jitter * random())`.
 * @param policy Missing fields take `DEFAULTS.backoff` (the client's policy).
 * @param random Returns a number in [0, 1); injected so tests can pin it.
 * @default policy `DEFAULTS.backoff`
 * @default random `Math.random`
 */
export function backoffDelay(attempt: number, policy: Partial<BackoffPolicy> = {}, random: () => number = Math.random): number {
  const { baseMs, maxMs, factor, jitter } = { ...DEFAULTS.backoff, ...policy };
  // Math.min first keeps a huge attempt count (Infinity from factor ** attempt) from turning into NaN.
  const cap = Math.min(maxMs, baseMs * factor ** Math.max(0, attempt));
  return Math.round(cap * (1 - jitter + jitter * random()));
}
