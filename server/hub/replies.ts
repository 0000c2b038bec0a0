/**
 * The `error` reply, which every part of the hub sends the same way: a stable code from `ERROR_CODES`, a human
 * message, and the request echoed so the client knows which of its requests was refused (a refused watch is
 * dropped from the set it re-sends after a reconnect). Browser-safe.
 */
import { stringifyMessage, type ClientMessage, type ErrorCode, type ErrorRequest } from '../../protocol/index.js';
import type { HubConnection } from './hub-connection.js';

/** Sends `conn` an `error` frame; the connection stays open. */
export function sendError(conn: HubConnection, code: ErrorCode, message: string, request?: ErrorRequest, resource?: string): void {
  if (conn.dialect) {
    conn.dialect.refused(conn, code, message, request);
    return;
  }
  conn.send(
    stringifyMessage({
      handler: 'error',
      ...(resource !== undefined ? { resource } : {}),
      params: request ? { code, message, request } : { code, message },
    }),
  );
}

/** The request of a parsed message, as an `error` reply echoes it. */
export function echo(msg: ClientMessage): ErrorRequest {
  const request: ErrorRequest = { handler: msg.handler };
  if (msg.resource !== undefined) request.resource = msg.resource;
  if ('params' in msg) request.params = msg.params;
  return request;
}
