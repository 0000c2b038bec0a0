/**
 * `monorail-ws/mock` and the client bundle for the browser: esbuild (platform browser) builds a tiny page entry that
 * imports both, the build pulls in no Node module, and the bundle runs: a client syncs a watch from the mock.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HERE = fileURLToPath(new URL('.', import.meta.url));

// What a UI page does: start the mock, connect the client through it, watch a channel.
const ENTRY = `
import { createMockServer, makeNode } from './index.js';
import { Connection } from '../client/index.js';

export async function run() {
  const mock = createMockServer({ url: 'ws://localhost:9100', fixtures: { nodes: [makeNode(1, 'compute')] } });
  const nodes = new Connection(mock.url + '/nodes', { WebSocket: mock.WebSocket, heartbeat: false });
  // The snapshot, then a live change.
  nodes.events.once('list', () => mock.upsert('nodes', makeNode(2, 'switch')));
  const synced = new Promise((resolve) => nodes.store.subscribe(() => nodes.store.size === 2 && resolve()));
  nodes.watch({});
  await synced;
  const ids = nodes.store.getSnapshot().map((n) => n.id);
  nodes.disconnect();
  await mock.close();
  return ids;
}
`;

describe('browser bundle', () => {
  it('bundles monorail-ws/mock with the client for the browser without any Node module, and the bundle works', async () => {
    const result = await build({
      stdin: { contents: ENTRY, resolveDir: HERE, loader: 'ts', sourcefile: 'page.ts' },
      bundle: true,
      write: false,
      platform: 'browser',
      format: 'esm',
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((p) => /node_modules\/(ws|mongodb|amqplib)\//.test(p) || p.startsWith('node:'))).toEqual([]);
    expect(inputs.some((p) => p.includes('node_modules/mock-socket/'))).toBe(true);
    expect(inputs.some((p) => p.endsWith('server/hub/hub.ts'))).toBe(true);
    expect(inputs.filter((p) => /server\/(server|ws-adapter|cli)\.ts$/.test(p))).toEqual([]);
    expect(code).not.toMatch(/["']node:/);
    expect(code).not.toMatch(/\brequire\(["']/);

    const page = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as { run(): Promise<string[]> };
    expect(await page.run()).toEqual(['6ae6f1800001000000000001', '6ae6f1800001000000000002']);
  });
});
