/**
 * Client bundle size, as a browser app would ship it: esbuild (bundle, minify, ESM, browser platform) and gzip
 * at level 9 via node:zlib. Deterministic for a given source and esbuild version, so `npm test` enforces it.
 * `npx tsx bench/size.ts` prints the figures of `CLIENT_ENTRY` (gzip, minified, bytes per input).
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Minified and gzipped bytes of a bundle, with the bytes each input contributes (before gzip). */
export interface BundleSize {
  /** The minified bundle. */
  code: string;
  minified: number;
  gzip: number;
  inputs: Record<string, number>;
}

/**
 * Bundles `contents` (an ES module importing from the repository root) and measures it. `external` import paths
 * stay imports (esbuild's `external`: `react`, or `../client/*` for what a binding shares with the core).
 */
export async function bundleSize(contents: string, external: readonly string[] = []): Promise<BundleSize> {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: 'ts', sourcefile: 'size-entry.ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'silent',
    external: [...external],
  });
  const code = result.outputFiles[0]!.contents;
  const inputs: Record<string, number> = {};
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [file, info] of Object.entries(output.inputs)) inputs[file] = info.bytesInOutput;
  }
  return { code: result.outputFiles[0]!.text, minified: code.length, gzip: gzipSync(code, { level: 9 }).length, inputs };
}

/**
 * What scenario 6 and the size test measure: `Connection` + `Store`, as an app imports them — live queries included
 * (`connection.live`, client/live.ts, is reached through `Connection`).
 */
export const CLIENT_ENTRY = `export { Connection, Store } from './client/index.ts';`;

/**
 * The React binding as it adds to an app that has the core: `monorail-ws/react` bundled with React and the client and
 * protocol modules left as imports (the app ships those anyway, once).
 */
export const REACT_ENTRY = `export * from './react/index.ts';`;
export const REACT_EXTERNAL = ['react', '../client/*', '../protocol/*'] as const;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { gzip, minified, inputs } = await bundleSize(CLIENT_ENTRY);
  const byInput = Object.fromEntries(Object.entries(inputs).sort(([, a], [, b]) => b - a));
  const react = await bundleSize(REACT_ENTRY, REACT_EXTERNAL);
  console.log(JSON.stringify({ gzip, minified, inputs: byInput, react: { gzip: react.gzip, minified: react.minified } }, null, 2));
}
