/**
 * Graceful shutdown of a server process: on SIGTERM (what supervisors send) or SIGINT (Ctrl-C) the server stops
 * accepting, closes every client with 1001 (they reconnect, to another instance when given a URL list), closes its
 * backends, and the process exits 0 — or exits 1 once `timeoutMs` has passed, whatever is still pending, so a
 * supervisor's restart is never blocked by a client that does not answer.
 */
import { DEFAULTS } from '../../protocol/index.js';
import type { Logger } from '../hub/logger.js';

/** Options of `handleShutdownSignals`. */
export interface ShutdownOptions {
  logger: Logger;
  /**
   * Signals that start a shutdown; the second one forces the exit at once.
   * @default ['SIGTERM', 'SIGINT']
   */
  signals?: readonly NodeJS.Signals[];
  /**
   * The bound: the process exits with 1 when closing has not finished after this long.
   * @default DEFAULTS.shutdownTimeoutMs (10 s)
   */
  timeoutMs?: number;
  /** @default process.exit */
  exit?: (code: number) => void;
  /** Where signals are listened to. @default process */
  signalSource?: Pick<NodeJS.Process, 'on' | 'off'>;
  /** @default the global setTimeout */
  setTimeout?: (fn: () => void, ms: number) => { unref?: () => void };
}

/**
 * Installs the signal handlers. Install them before announcing that the server listens: a supervisor (or a test)
 * that signals as soon as it reads that line must get a clean shutdown, not the default kill.
 * @returns A function that removes the handlers.
 */
export function handleShutdownSignals(server: { close(): Promise<void> }, options: ShutdownOptions): () => void {
  const { logger } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const source = options.signalSource ?? process;
  const timeoutMs = options.timeoutMs ?? DEFAULTS.shutdownTimeoutMs;
  const set = options.setTimeout ?? setTimeout;
  let stopping = false;

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn('second signal, exiting now', { signal });
      exit(1);
      return;
    }
    stopping = true;
    logger.info('shutting down', { signal, timeoutMs });
    // Unref'd: the bound must not itself keep a process alive whose server has closed.
    set(() => {
      logger.error('shutdown took too long, exiting', { timeoutMs });
      exit(1);
    }, timeoutMs).unref?.();
    server.close().then(
      () => {
        logger.info('stopped');
        exit(0);
      },
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        exit(1);
      },
    );
  };
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  for (const s of signals) source.on(s, onSignal);
  return () => {
    for (const s of signals) source.off(s, onSignal);
  };
}
