/**
 * The React binding's size as it adds to an app that already ships the core (issue 13: at most 600 B gzip):
 * `monorail-ws/react` bundled by esbuild, minified, gzip -9, like client/size.test.ts measures the core, with React
 * and the client and protocol modules it imports left as imports. `npx tsx bench/size.ts` prints it (`react`).
 * Measured 596 B gzip (977 minified) when the bound was set; the binding opens and closes queries in effects and
 * leaves every other decision to the live queries of client/live.ts, which is what keeps it this small.
 */
import { describe, expect, it } from 'vitest';
import { bundleSize, REACT_ENTRY, REACT_EXTERNAL } from '../bench/size.js';

/** Bytes, gzip -9: issue 13's bound. */
const MAX_GZIP_BYTES = 600;

describe('React binding bundle size', () => {
  it(`monorail-ws/react adds at most ${MAX_GZIP_BYTES} bytes gzip to an app that has the core`, async () => {
    const size = await bundleSize(REACT_ENTRY, REACT_EXTERNAL);
    expect(size.gzip).toBeLessThanOrEqual(MAX_GZIP_BYTES);
  });

  it('bundles only its own module: React, the client and the protocol stay imports', async () => {
    const { inputs, code } = await bundleSize(REACT_ENTRY, REACT_EXTERNAL);
    expect(Object.keys(inputs).filter((f) => f !== 'size-entry.ts')).toEqual(['react/index.ts']);
    expect(code).toContain('from"react"');
    expect(code).toContain('from"../protocol/params.js"');
  });
});
