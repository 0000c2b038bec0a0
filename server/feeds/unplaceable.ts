/**
 * Broker messages the server cannot place — malformed, traffic no channel maps, a partial record or a status for a
 * record nobody knows — are counted per kind and logged at most once per kind per
 * `DEFAULTS.unplaceableLogIntervalMs`: RackHD publishes some of them on every task state change, and one log line
 * per message would drown the server's log (and the disk) without saying anything new.
 */
import { DEFAULTS } from '../../protocol/index.js';
import type { LogFields, Logger } from '../hub/logger.js';

/** Options of `UnplaceableLog`. */
export interface UnplaceableLogOptions {
  /** Where the lines go. */
  logger: Logger;
  /**
   * Least time between two lines of one kind.
   * @default DEFAULTS.unplaceableLogIntervalMs (60,000)
   */
  intervalMs?: number;
  /**
   * The clock (tests inject one).
   * @default Date.now
   */
  now?: () => number;
}

interface KindState {
  total: number;
  /** Messages of this kind since its last line. */
  unlogged: number;
  lastLogAt: number;
}

/** Counts unplaceable messages per kind and logs each kind at most once per interval. */
export class UnplaceableLog {
  private readonly logger: Logger;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly kinds = new Map<string, KindState>();

  constructor(options: UnplaceableLogOptions) {
    this.logger = options.logger;
    this.intervalMs = options.intervalMs ?? DEFAULTS.unplaceableLogIntervalMs;
    this.now = options.now ?? Date.now;
  }

  /**
   * Counts one message of `kind`; logs `msg` with `fields`, the kind and its counts when this kind's last line is
   * older than the interval (or there was none).
   */
  note(level: 'debug' | 'warn', kind: string, msg: string, fields: LogFields): void {
    const at = this.now();
    let state = this.kinds.get(kind);
    if (!state) {
      state = { total: 0, unlogged: 0, lastLogAt: -Infinity };
      this.kinds.set(kind, state);
    }
    state.total++;
    state.unlogged++;
    if (at - state.lastLogAt < this.intervalMs) return;
    this.logger[level](msg, { ...fields, kind, count: state.unlogged, total: state.total });
    state.unlogged = 0;
    state.lastLogAt = at;
  }

  /** Messages counted per kind since the start. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.kinds].map(([kind, s]) => [kind, s.total]));
  }
}
