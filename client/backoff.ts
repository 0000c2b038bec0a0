/**
 * Reconnect policy as data: a pure function of the attempt number, the options and a source of randomness,
 * so it is tested alone and a test can pin every delay (phoenix `timer.js`, graphql-ws `retryWait`).
 */
import { CLIENT_DEFAULTS as DEFAULTS } from '../protocol/codes.js';

/** How long the client waits before each reconnect. */
export interface BackoffOptions {
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
  /**
   * A connection that stays open this long resets the attempt counter, so a flapping server keeps backing off
   * while a server that was fine for a while is retried quickly after the next drop.
   * @default 5000
   */
  resetAfterMs: number;
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first retry), in whole ms:
 * `cap = min(maxMs, baseMs * factor ** attempt)`, `delay = cap * (1 - jitter + jitter * random())`.
 * @param options Missing fields take `DEFAULTS.backoff`.
 * @param random Returns a number in [0, 1); injected so tests can pin it.
 * @default options `DEFAULTS.backoff`
 * @default random `Math.random`
 */
export function backoffDelay(
  attempt: number,
  options: Partial<BackoffOptions> = {},
  random: () => number = Math.random,
): number {
  const { baseMs, maxMs, factor, jitter } = { ...DEFAULTS.backoff, ...options };
  // Math.min first keeps a huge attempt count (Infinity from factor ** attempt) from turning into NaN.
  const cap = Math.min(maxMs, baseMs * factor ** Math.max(0, attempt));
  return Math.round(cap * (1 - jitter + jitter * random()));
}
