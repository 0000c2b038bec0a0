/** The line logger of the server and the CLI: one line per event, credentials scrubbed from every line. */
import type { LogFields, Logger } from '../hub/logger.js';
import { redactSecrets } from '../security/redact.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LEVELS)[number];

/**
 * One line per event: `2026-11-26T07:33:20.000Z info listening on ws://127.0.0.1:9100 {"channels":7}`.
 * Human-readable first, machine-parseable fields last. Credentials are scrubbed from every line (`redactSecrets`:
 * bearer tokens, secret-looking `name=value` pairs), whoever logged them.
 */
export function lineLogger(write: (line: string) => void, minLevel: LogLevel = 'info'): Logger {
  const min = LEVELS.indexOf(minLevel);
  const log = (level: LogLevel) => (msg: string, fields?: LogFields) => {
    if (LEVELS.indexOf(level) < min) return;
    let extra = '';
    if (fields && Object.keys(fields).length > 0) {
      try {
        extra = ` ${JSON.stringify(fields, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`;
      } catch {
        extra = ' {"fields":"unserialisable"}';
      }
    }
    write(redactSecrets(`${new Date().toISOString()} ${level} ${msg}${extra}`));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
