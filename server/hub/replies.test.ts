/** The error reply: its shape with and without a resource and a request, and the request a parsed message echoes. */
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../protocol/index.js';
import { HubConnection } from './hub-connection.js';
import { echo, sendError } from './replies.js';
import { TestSocket } from '../../test/support/hub-doubles.js';

describe('sendError', () => {
  it('sends an error frame with the code and message, and the resource and request when given', () => {
    const socket = new TestSocket();
    const conn = new HubConnection('s1', 'nodes', socket, undefined);
    sendError(conn, 'bad-json', 'frame is not valid JSON');
    sendError(conn, 'forbidden', 'no', { handler: 'watch', params: { type: 'x' } }, 'nodes');
    expect(socket.take()).toEqual([
      { handler: 'error', params: { code: 'bad-json', message: 'frame is not valid JSON' } },
      {
        handler: 'error',
        resource: 'nodes',
        params: { code: 'forbidden', message: 'no', request: { handler: 'watch', params: { type: 'x' } } },
      },
    ]);
  });

  it('sends nothing once the connection has closed', () => {
    const socket = new TestSocket();
    const conn = new HubConnection('s1', 'nodes', socket, undefined);
    conn.closed = true;
    sendError(conn, 'internal', 'late');
    expect(socket.frames).toEqual([]);
  });
});

describe('echo', () => {
  it('keeps the handler, the resource when the message named one, and the params when it has them', () => {
    expect(echo(parseMessage('{"handler":"all"}'))).toEqual({ handler: 'all' });
    expect(echo(parseMessage('{"handler":"watch","resource":"graphObjs","params":{"a":1}}'))).toEqual({
      handler: 'watch',
      resource: 'graphObjs',
      params: { a: 1 },
    });
  });
});
