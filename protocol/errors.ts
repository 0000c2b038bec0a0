import type { ErrorCode } from './codes.js';
import type { ErrorRequest } from './messages.js';

/** A protocol violation with a stable `code` from `ERROR_CODES`. */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The offending message, when it could be parsed far enough to echo it. */
    readonly request?: ErrorRequest,
  ) {
    super(message);
  }
}
