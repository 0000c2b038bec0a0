/** Structured logging: one line per event. Browser-safe (the mock passes a silent logger). */

/** Fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/** What the server and hub log through. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** Discards everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LEVELS)[number];

/**
 * One line per event: `2026-11-26T07:33:20.000Z info listening on ws://127.0.0.1:9100 {"channels":7}`.
 * Human-readable first, machine-parseable fields last.
 */
export function lineLogger(write: (line: string) => void, minLevel: LogLevel = 'info'): Logger {
  const min = LEVELS.indexOf(minLevel);
  const log = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (LEVELS.indexOf(level) < min) return;
    let extra = '';
    if (fields && Object.keys(fields).length > 0) {
      try {
        extra = ' ' + JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? v.message : v));
      } catch {
        extra = ' {"fields":"unserialisable"}';
      }
    }
    write(`${new Date().toISOString()} ${level} ${msg}${extra}`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
