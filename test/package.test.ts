/**
 * The package as users get it: built, packed with `npm pack`, installed into a fresh folder, then imported by
 * plain Node ESM (every subpath export) and type-checked by a TypeScript consumer with NodeNext resolution.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
let dir: string;

function run(cmd: string, args: string[], cwd: string): string {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'monorail-ws-pack-'));
  run('npm', ['run', 'build'], ROOT);
  const tarball = run('npm', ['pack', '--pack-destination', dir, '--silent'], ROOT).trim().split('\n').pop()!;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      join(dir, tarball),
      `typescript@${devVersion('typescript')}`,
      `@types/node@${devVersion('@types/node')}`,
    ],
    dir,
  );
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function devVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  return lock.packages[`node_modules/${name}`]!.version;
}

describe('installed from npm pack', () => {
  it('ships only built files and the docs', () => {
    const files = run(
      'tar',
      [
        '-tzf',
        run('ls', [dir], dir)
          .split('\n')
          .find((f) => f.endsWith('.tgz'))!,
      ],
      dir,
    );
    expect(files).toContain('package/dist/client/index.js');
    expect(files).toContain('package/dist/client/index.d.ts');
    expect(files).toContain('package/README.md');
    expect(files).toContain('package/PROTOCOL.md');
    expect(files).not.toMatch(/\.test\.(js|ts)/);
    expect(files).not.toContain('package/server/hub/hub.ts');
  });

  it('ships every page the shipped docs link to, so the links work in node_modules too', () => {
    const files = run(
      'tar',
      [
        '-tzf',
        run('ls', [dir], dir)
          .split('\n')
          .find((f) => f.endsWith('.tgz'))!,
      ],
      dir,
    ).split('\n');
    const pages = files.filter((f) => f.endsWith('.md')).map((f) => f.slice('package/'.length));
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'PROTOCOL.md', 'docs/server.md', 'bench/README.md']));
    for (const page of pages) {
      const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, link] of text.matchAll(/\]\(([^)#\s:]+\.(?:md|svg))(?:#[^)]*)?\)/g)) {
        expect(files, `${page} links to ${link}`).toContain(`package/${posix.join(posix.dirname(page), link!)}`);
      }
    }
  });

  it('every subpath export imports in plain Node, and a client watches nodes on a server started from the package', () => {
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
    const script = `
      ${subpaths.map((s, i) => `import * as m${i} from 'monorail-ws${s.slice(1)}';`).join('\n')}
      import { Connection } from 'monorail-ws/client';
      import { createServer } from 'monorail-ws/server';
      for (const m of [${subpaths.map((_, i) => `m${i}`).join(', ')}]) if (Object.keys(m).length === 0) throw new Error('empty module');
      const server = await createServer({ port: 0 });
      const nodes = new Connection(server.url + '/nodes');
      nodes.watch({ type: 'compute' });
      await new Promise((resolve) => nodes.store.subscribe(() => nodes.store.size > 0 && resolve()));
      console.log(JSON.stringify({ size: nodes.store.size, types: [...new Set(nodes.store.getSnapshot().map((n) => n.type))] }));
      nodes.disconnect();
      await server.close();
    `;
    writeFileSync(join(dir, 'smoke.mjs'), script);
    const out = JSON.parse(run(process.execPath, ['smoke.mjs'], dir).trim()) as { size: number; types: string[] };
    expect(out.size).toBeGreaterThan(0);
    expect(out.types).toEqual(['compute']);
  });

  it('the CLI bin starts a server', () => {
    const out = execFileSync(join(dir, 'node_modules/.bin/monorail-ws'), ['--help'], { encoding: 'utf8' });
    expect(out).toContain('usage: monorail-ws serve');
  });

  it('a browser bundler takes the installed client and mock without Node modules or isomorphic-ws (package.json browser field)', async () => {
    const result = await build({
      stdin: {
        contents: `export { Connection, Store, createClient } from 'monorail-ws/client'; export { createMockServer } from 'monorail-ws/mock';`,
        resolveDir: dir,
        sourcefile: 'app.js',
      },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.endsWith('node_modules/monorail-ws/dist/client/browser-websocket.js'))).toBe(true);
    expect(inputs.filter((f) => /node_modules\/(isomorphic-ws|ws)\//.test(f) || f.startsWith('node:'))).toEqual([]);
  });

  it('a TypeScript consumer type-checks against the shipped declarations (NodeNext)', () => {
    writeFileSync(
      join(dir, 'consumer.ts'),
      `import { Connection, createClient, type Doc } from 'monorail-ws/client';
       import { createServer, type ServerOptions } from 'monorail-ws/server';
       interface Node extends Doc { id: string; type: string }
       const nodes = new Connection<Node>('ws://localhost:9100/nodes', { autoConnect: false });
       nodes.events.on('item', (m) => m.id.toUpperCase());
       const first: Node | undefined = nodes.store.getSnapshot()[0];
       const client = createClient({ url: 'ws://localhost:9100', channels: ['nodes', 'logs'], autoConnect: false });
       client.channels.logs.watch({ subject: 'Server' });
       const options: ServerOptions = { port: 0 };
       void createServer; void first; void options;
      `,
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          lib: ['ES2022', 'DOM'],
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    expect(() => run(join(dir, 'node_modules/.bin/tsc'), ['-p', '.'], dir)).not.toThrow();
  });
});
