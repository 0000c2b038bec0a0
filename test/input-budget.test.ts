/**
 * The input budget end to end: frames over it in every field of every handler, against real servers. Finding 1 of
 * issue 10 runs against the server in its own process (it used to end that process); the rest against
 * `createServer` on port 0 with the memory backend.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerMessage } from '../protocol/index.js';
import { demoFixtures } from '../server/fixtures.js';
import { byId, RawClient, waitFor } from './helpers.js';
import { startServer, type ServerProcess } from './processes.js';

const computeNodes = () => byId(demoFixtures().nodes!.filter((n) => n.type === 'compute'));

/** Waits for the next frame or the close, whichever comes first. */
async function nextOrClose(c: RawClient): Promise<ServerMessage | { closed: number }> {
  const seen = c.frames.length;
  return waitFor(() => c.frames[seen] ?? (c.closeEvent && { closed: c.closeEvent.code }), 10_000, 'a frame or the close');
}

describe('finding 1: one 10 KB frame of nested params on `all` for an unknown channel', () => {
  // One process per case: when the first case ended its process, the second still shows what happens to its own.
  let proc: ServerProcess;
  beforeEach(async () => {
    proc = await startServer(['--port', '0']);
  });
  afterEach(async () => {
    await proc?.stop('SIGKILL');
  });

  const depth = 5_000;
  const bomb = `${'['.repeat(depth)}${']'.repeat(depth)}`;

  it.each([
    ['resource "nope"', '/nodes', `{"handler":"all","resource":"nope","params":${bomb}}`, { handler: 'all', resource: 'nope' }],
    ['the path /nope', '/nope', `{"handler":"all","params":${bomb}}`, { handler: 'all' }],
  ])('on %s: refused with too-large, params not echoed, the process stays and answers the next query', async (_what, path, frame, request) => {
    const c = await RawClient.connect(`${proc.url}${path}`);
    c.send(frame);
    const reply = await nextOrClose(c);
    expect(reply, proc.output()).toMatchObject({ handler: 'error', params: { code: 'too-large', request } });
    expect((reply as Extract<ServerMessage, { handler: 'error' }>).params.request).not.toHaveProperty('params');
    expect(proc.proc.exitCode).toBeNull();
    const list = await c.request({ handler: 'query', resource: 'nodes', params: { type: 'compute' } }, 'list');
    expect(byId(list.items)).toEqual(computeNodes());
    c.close();
  });
});
