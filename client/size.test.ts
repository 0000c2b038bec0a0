/**
 * The client's core as a browser app ships it: `Connection` + `Store` + live queries (`connection.live`, client/live.ts,
 * reached through `Connection`) bundled by esbuild, minified, gzip -9
 * (issue 7, scenario 6; `npm run bench` reports the same number next to socket.io-client). Deterministic for a
 * given source and esbuild version, so growth fails here rather than in someone's bundle.
 *
 * Issue 7 asked for ≤ 3.0 KB; what the client carries beyond that is behaviour docs/client.md documents — reconnect
 * with backoff, failover, tokens, the queue, the heartbeat, the store's scopes, MongoDB semantics in `matches`,
 * validation of what the server echoes — after the slimming that keeps it out (client/parse.ts instead of the
 * protocol's descriptive parser, NO_RETRY_CODES and CLIENT_DEFAULTS instead of the full tables, mitt's few lines
 * in client/events.ts, no isomorphic-ws in browser bundles; bench/README.md "Targets missed or at the line").
 *
 * The bound has room on purpose (readable first, let the minifier golf). Measured with
 * `npx tsx bench/size.ts` (`bundleSize(CLIENT_ENTRY)`): 4,994 B gzip (13,012 minified) when the bound was 5,000 and
 * the client was golfed to fit; 5,126 B gzip (13,850 minified) once client/parse.ts, connection.ts and events.ts
 * were written as plain statements and what a message does to the store moved to client/apply.ts (issue 11).
 * Bound: that plus ~10 %, rounded — 5,600 B. Growth of a few bytes
 * then never argues for a less readable line; growth of hundreds still fails here, before it reaches a bundle.
 * Then the bound on `matches`' path memo (issue 10: a memo fed by client filters is bounded in entries and length,
 * with eviction) added 80 B: 5,206 B gzip (14,062 minified).
 *
 * Issue 13 set the core, live queries included, at 6,144 B. The core measured 5,272 B before them; they cost 860 B:
 * 6,132 B gzip (16,487 minified). To fit, a live query keeps no records of its own — it reads the store's scope
 * (`Store.held`), and the store says which scopes a message touched — and it checks params with client/parse.ts's
 * `isValidParams` rather than a validator of its own (one that named the key at fault cost ~200 B).
 * Issue 14 then put resume in the core — `progress` and `resumed` frames known to the parser, the last position
 * re-sent with each watch that was answered in the session, `resumed` answering a watch as its `list` would, and
 * the live snapshot's `via` — for 120 B: 6,264 B gzip. Written plainly and golfed no further (a shared branch for
 * `list` and `resumed` measured larger), it did not fit issue 13's 6,144 B, and the bound was 6 KiB + 128 B for a while.
 * Back under it without dropping a behaviour or a check, by carrying less rather than writing tighter: from 6,289 B
 * (after the merges) to 6,103 B gzip (16,849 → 16,060 minified). The store's defaults come from `storeDefaults` (protocol/channels.ts,
 * `channelInfo`'s answers from the one id field that is not `id` and the append-only channels) instead of the channel
 * table (-69 B); the parser's operators and server handlers are switch cases the compiler holds to `Operator` and
 * `ServerHandler`, not lookups in lists the bundle carried (-48 B); the missing-WebSocket error is one short line
 * (-38 B); client/apply.ts checks the channel once per frame (-12 B); an empty store builds its snapshot like any other
 * (-12 B); a session sets its heartbeat in one assignment (-4 B). Bound: issue 13's 6,144 B again.
 * Live queries on `mq` topic patterns (`routingKey: '#'`) then needed the store to read an `mq` watch's params as the
 * server does: `mqMatches` and the server's `topicMatches` (protocol/topic.ts, a dynamic programme over words: no
 * pattern backtracks) and the store's matcher as a constructor parameter cost ~125 B gzip. Carrying less again, with
 * every behaviour kept: the connection re-sends its watches from the live queries' own table (`resend`) instead of
 * looking each up again from the store's (-16 B); a refused frame is already the `protocol` error it is reported as
 * (-9 B), and a server `error` event spreads the frame's params (-11 B); `random` stays undefined unless given, for
 * `backoffDelay`'s own default (-13 B); `$gt`…`$lte` check `typeof !== 'object'` beside `isLiteral` instead of a
 * function of their own (-11 B); the path memo empties itself when full rather than dropping its oldest one by one,
 * as bounded (-12 B); `isValidParams` checks for a plain object itself (-5 B); a shorter empty-URL message (-6 B);
 * two checks another already makes and one `!!` (-8 B). 6,133 B gzip (16,121 minified).
 */
import { describe, expect, it } from 'vitest';
import { bundleSize, CLIENT_ENTRY } from '../bench/size.js';

/** Bytes, gzip -9: issue 13's bound for the core with live queries and resume. Raise it only with a reason in the commit message. */
const MAX_GZIP_BYTES = 6_144;

describe('client bundle size', () => {
  it(`Connection + Store + live queries, minified and gzipped, stay within ${MAX_GZIP_BYTES} bytes`, async () => {
    const size = await bundleSize(CLIENT_ENTRY);
    expect(size.inputs['client/live.ts'] ?? 0, 'live queries in the measured bundle').toBeGreaterThan(1_000);
    expect(size.gzip).toBeLessThanOrEqual(MAX_GZIP_BYTES);
  });

  it('do not bundle the protocol parser, the close-code table or meanings, the channel table, or the server defaults', async () => {
    const { inputs, code } = await bundleSize(CLIENT_ENTRY);
    expect(inputs['protocol/parse.ts'] ?? 0).toBeLessThan(200);
    for (const server of [
      'server going away',
      'RateLimited',
      'maxListItems',
      'slowConsumer',
      'amqpBackoff',
      'params must be a JSON object',
      // `CHANNELS` (client/connection.ts reads `storeDefaults`).
      'lookups',
    ]) {
      expect(code).not.toContain(server);
    }
  });

  it('do not bundle isomorphic-ws (the browser field swaps it out) or mitt (written into events.ts)', async () => {
    const { inputs } = await bundleSize(CLIENT_ENTRY);
    expect(Object.keys(inputs).filter((f) => f.includes('node_modules/'))).toEqual([]);
  });
});
