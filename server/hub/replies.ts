/**
 * The `error` reply, which every part of the hub sends the same way: a stable code from `ERROR_CODES`, a human
 * message, and the request echoed so the client knows which of its requests was refused (a refused watch is
 * dropped from the set it re-sends after a reconnect). And the answer to a `get`. Browser-safe.
 */
import { stringifyMessage, type ClientMessage, type Doc, type ErrorCode, type ErrorRequest, type Params } from '../../protocol/index.js';
import type { HubConnection } from './hub-connection.js';

/**
 * Sends `conn` an `error` frame; the connection stays open. It never throws: it also runs where nothing would catch
 * an exception (a read's completion, on a later tick), so a reply that cannot be built or sent abandons the
 * connection (1011, logged) instead.
 */
export function sendError(conn: HubConnection, code: ErrorCode, message: string, request?: ErrorRequest, resource?: string): void {
  try {
    // Another dialect words (or logs) a refusal its own way (dialect-1x.ts: RackHD's 1.x UI has no error frames).
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
  } catch (err) {
    conn.abandon(`an error reply (${code}) could not be sent`, err);
  }
}

/**
 * The answer to a `get` (`reads.ts`): the record as an `item`, or, when there is none, a `remove` with the request's
 * params (and the id when they name one), so the client drops what it may hold.
 */
export function sendGetAnswer(conn: HubConnection, resource: string, idField: string, params: Params, doc: Doc | undefined): void {
  if (doc) {
    conn.send(stringifyMessage({ handler: 'item', resource, id: String(doc[idField]), data: doc }));
    return;
  }
  // RackHD's 1.x dialect answers a miss its own way (on-wss sent an empty item, dialect-1x.ts).
  if (conn.dialect) {
    conn.send(conn.dialect.notFound(resource));
    return;
  }
  const id = params[idField];
  conn.send(
    stringifyMessage(
      typeof id === 'string' || typeof id === 'number'
        ? { handler: 'remove', resource, id: String(id), params }
        : { handler: 'remove', resource, params },
    ),
  );
}

/** The request of a parsed message, as an `error` reply echoes it: all of it (it passed the input budget, so it is bounded). */
export function echo(msg: ClientMessage): ErrorRequest {
  const request: ErrorRequest = { handler: msg.handler };
  if (msg.resource !== undefined) request.resource = msg.resource;
  if ('params' in msg) request.params = msg.params;
  return request;
}
