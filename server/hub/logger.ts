/** The logging contract of the hub and the server: one line per event (`lineLogger` writes them); the mock passes `silentLogger`. */

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
