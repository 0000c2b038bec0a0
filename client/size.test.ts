/**
 * The client's size as a browser app ships it: `Connection` + `Store` bundled by esbuild, minified, gzip -9
 * (issue 7, scenario 6; `npm run bench` reports the same number next to socket.io-client). Deterministic for a
 * given source and esbuild version, so growth fails here rather than in someone's bundle.
 *
 * Issue 7 asks for ≤ 3.0 KB. Measured 4,993 B gzip (13,012 minified) with `bundleSize(CLIENT_ENTRY)` from
 * `bench/size.ts` (a `npx tsx` script printing `.gzip`, `.minified` and `.inputs`). What is left after the slimming
 * (client/parse.ts instead of the protocol's descriptive parser, NO_RETRY_CODES and CLIENT_DEFAULTS instead of the
 * full tables, mitt's few lines in client/events.ts, no isomorphic-ws in browser bundles, a shorter `matches`) is
 * behaviour DESIGN.md requires — reconnect with backoff, failover, tokens, the queue, the heartbeat, the store's
 * scopes, MongoDB semantics in `matches`, validation of what the server echoes — so the bound is what that costs
 * today (README.md, Performance, "Targets missed", explains the miss). The bound on `matches`' path memo (issue 10:
 * a memo fed by client filters must be bounded in entries and length, with eviction) added 91 B: 5,085 B gzip
 * (13,218 minified).
 */
import { describe, expect, it } from 'vitest';
import { bundleSize, CLIENT_ENTRY } from '../bench/size.js';

/** Bytes, gzip -9. Raise it only with a reason in the commit message. */
const MAX_GZIP_BYTES = 5_100;

describe('client bundle size', () => {
  it(`Connection + Store, minified and gzipped, stay within ${MAX_GZIP_BYTES} bytes`, async () => {
    const size = await bundleSize(CLIENT_ENTRY);
    expect(size.gzip).toBeLessThanOrEqual(MAX_GZIP_BYTES);
  });

  it('do not bundle the protocol parser, the close-code meanings or the server defaults', async () => {
    const { inputs, code } = await bundleSize(CLIENT_ENTRY);
    expect(inputs['protocol/parse.ts'] ?? 0).toBeLessThan(200);
    for (const server of ['server going away', 'maxListItems', 'slowConsumer', 'params must be a JSON object']) expect(code).not.toContain(server);
  });

  it('do not bundle isomorphic-ws (the browser field swaps it out) or mitt (written into events.ts)', async () => {
    const { inputs } = await bundleSize(CLIENT_ENTRY);
    expect(Object.keys(inputs).filter((f) => f.includes('node_modules/'))).toEqual([]);
  });
});
