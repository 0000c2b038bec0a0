/**
 * The one way a vitest test waits for a condition. `waitFor` runs a check until it returns a truthy value and
 * resolves with that value; past its timeout it fails, naming what it waited for. A check may be async (a broker
 * query, a database read, a request to a child process). A check that throws stops the wait with its error, so a
 * check can abort a wait that can no longer succeed (a writer that failed, a child that died).
 *
 * Not waits, and so not done with this: awaiting one event (`socket.once('open')`, a promise the code under test
 * returns), and driving injected timers (`timers.ts`, the hub's manual clock). A fixed sleep is never a wait:
 * a test that must prove that something does not happen proves it with a barrier (a request answered after it)
 * or with injected timers that show nothing is scheduled.
 *
 * Playwright specs (`e2e/`) wait with Playwright's own auto-waiting `expect`, another runner with its own rule.
 */

/** How long `waitFor` waits unless told otherwise: long enough for a loaded machine, short enough to fail fast. */
export const WAIT_TIMEOUT_MS = 5000;

/** How often a synchronous check runs: it costs nothing, and a short interval keeps tests quick. */
const SYNC_INTERVAL_MS = 5;

/** How often an async check runs: each run is a round trip (rabbitmqctl, a database, a child's IPC). */
const ASYNC_INTERVAL_MS = 20;

/** What a check returns while the condition does not hold yet. */
type NotYet = undefined | null | false;

/**
 * Waits until `check` returns a truthy value (or a promise of one) and resolves with it. Rejects after
 * `timeoutMs` with `timed out after N ms waiting for <what>`; without `what` the message quotes the check's source.
 */
export function waitFor<T>(check: () => Promise<T | NotYet>, timeoutMs?: number, what?: string): Promise<T>;
export function waitFor<T>(check: () => T | NotYet, timeoutMs?: number, what?: string): Promise<T>;
export async function waitFor<T>(
  check: () => T | NotYet | Promise<T | NotYet>,
  timeoutMs = WAIT_TIMEOUT_MS,
  what: string = describeCheck(check),
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = check();
    const isAsync = result instanceof Promise;
    const value = isAsync ? await result : result;
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, isAsync ? ASYNC_INTERVAL_MS : SYNC_INTERVAL_MS));
  }
}

/** The check's own source, on one line and shortened, so an unnamed wait still says what it waited for. */
function describeCheck(check: () => unknown): string {
  const source = String(check)
    .replace(/^(async\s*)?\(\s*\)\s*=>\s*/, '')
    .replace(/\s+/g, ' ')
    .trim();
  return source.length > 160 ? `${source.slice(0, 157)}...` : source;
}
