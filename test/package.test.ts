/**
 * The package as users get it: packed with `npm pack` (its `prepack` builds `dist/`), then installed into two empty
 * folders the two documented ways (docs/server.md "Install"):
 *
 * - a browser app, `npm install monorail-ws`: the client and the mock, without the server's packages (mongodb,
 *   bson, amqplib, jose, ws: optional peer dependencies), and without npm's warning about install scripts;
 * - a server, `npm install monorail-ws ws@… mongodb@… amqplib@… jose@…` (`SERVER_INSTALL`).
 *
 * Each is listed, imported by plain Node ESM, bundled or type-checked as its users would. The installs share npm's
 * cache and prefer it (`--prefer-offline`), so after the first run they do not wait for the registry.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_INSTALL } from '../server/hub/optional-packages.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
/** Every step waits at most this long (the first install on a cold cache downloads ~12 MB). */
const STEP_MS = 120_000;
const NPM_FLAGS = ['--no-audit', '--no-fund', '--prefer-offline'];
/** The server's packages a browser app must not get (bson comes with mongodb). */
const SERVER_ONLY = ['mongodb', 'bson', 'amqplib', 'jose', 'ws'];

let dir: string;
let tarball: string;
let files: string[];
/** The two installs: where, what npm said on stderr, which packages came along and how many bytes they take. */
interface Install {
  dir: string;
  stderr: string;
  packages: string[];
  bytes: number;
}
let browserApp: Install;
let serverApp: Install;

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: STEP_MS });
}

/** Runs a command that may fail; its exit status and both outputs. */
function attempt(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: STEP_MS });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Bytes of every file under `path`, as `du --apparent-size` counts them. */
function bytesUnder(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

/** `npm install <args>` in a fresh folder holding an app's package.json; what it installed. */
function install(name: string, args: string[]): Install {
  const at = join(dir, name);
  mkdirSync(at);
  writeFileSync(join(at, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  const r = spawnSync('npm', ['install', ...NPM_FLAGS, ...args], { cwd: at, encoding: 'utf8', timeout: STEP_MS });
  if (r.status !== 0) throw new Error(`npm install ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  // Every package in the tree (hoisted or nested), by name; the first line is the app itself.
  const paths = run('npm', ['ls', '--all', '--parseable'], at).trim().split('\n').slice(1);
  const packages = [...new Set(paths.map((p) => p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length)))].sort();
  return { dir: at, stderr: r.stderr, packages, bytes: bytesUnder(join(at, 'node_modules')) };
}

function devVersion(name: string): string {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  return lock.packages[`node_modules/${name}`]!.version;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'monorail-ws-pack-'));
  // `npm pack` runs `prepack` (the build): nothing else needs to have built dist/ before.
  run('npm', ['pack', '--pack-destination', dir], ROOT);
  tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
  files = run('tar', ['-tzf', tarball], dir).split('\n');
  browserApp = install('browser-app', [tarball]);
  serverApp = install('server-app', SERVER_INSTALL.replace(/^npm install monorail-ws /, `${tarball} `).split(' '));
  for (const [name, app] of [
    ['browser app (npm install monorail-ws)', browserApp],
    ['server (docs/server.md "Install")', serverApp],
  ] as const) {
    console.info(`${name}: ${app.packages.length} packages, ${(app.bytes / 1e6).toFixed(1)} MB: ${app.packages.join(' ')}`);
  }
}, 4 * STEP_MS);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships only built files and the docs', () => {
    expect(files).toContain('package/dist/client/index.js');
    expect(files).toContain('package/dist/client/index.d.ts');
    expect(files).toContain('package/README.md');
    expect(files).toContain('package/PROTOCOL.md');
    expect(files.filter((f) => /\.test\.(js|ts)/.test(f))).toEqual([]);
    expect(files).not.toContain('package/server/hub/hub.ts');
  });

  it('ships source maps that carry their sources (sourcesContent), since the .ts files are not shipped', () => {
    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    run('tar', ['-xzf', tarball, '-C', unpacked], dir);
    const maps = files.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBe(files.filter((f) => /\.js$/.test(f)).length);
    for (const map of maps) {
      const { sources, sourcesContent } = JSON.parse(readFileSync(join(unpacked, map), 'utf8')) as {
        sources: string[];
        sourcesContent?: Array<string | null>;
      };
      expect(sourcesContent?.length, map).toBe(sources.length);
      for (const content of sourcesContent!) expect(content, map).toMatch(/\S/);
    }
  });

  it('ships every page the shipped docs link to, so the links work in node_modules too', () => {
    const pages = files.filter((f) => f.endsWith('.md')).map((f) => f.slice('package/'.length));
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'PROTOCOL.md', 'docs/server.md', 'bench/README.md']));
    for (const page of pages) {
      const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, link] of text.matchAll(/\]\(([^)#\s:]+\.(?:md|svg))(?:#[^)]*)?\)/g)) {
        expect(files, `${page} links to ${link}`).toContain(`package/${posix.join(posix.dirname(page), link!)}`);
      }
    }
  });
});

describe('a browser app: npm install monorail-ws', () => {
  it('gets the client and the mock with mitt and mock-socket only: none of the server’s packages, no install-script warning', () => {
    expect(browserApp.packages).toEqual(['mitt', 'mock-socket', 'monorail-ws']);
    expect(browserApp.packages.filter((p) => SERVER_ONLY.includes(p))).toEqual([]);
    expect(browserApp.stderr).not.toMatch(/install-scripts|prepare/);
  });

  it('imports monorail-ws/client and monorail-ws/mock in plain Node, and runs the demo simulator on the mock (startDemo)', () => {
    writeFileSync(
      join(browserApp.dir, 'offline.mjs'),
      `import { Connection } from 'monorail-ws/client';
       import { createMockServer, startDemo } from 'monorail-ws/mock';
       const mock = createMockServer({ url: 'ws://localhost:9100', fixtures: { nodes: [] } });
       const nodes = new Connection(mock.url + '/nodes', { WebSocket: mock.WebSocket, heartbeat: false });
       nodes.watch({});
       const demo = startDemo(mock.backend, { intervalMs: 5 });
       await new Promise((resolve) => nodes.store.subscribe(() => nodes.store.size >= 3 && resolve()));
       demo.stop();
       // Without ws, a connection that has no WebSocket to use (Node 20 and 21) says what to install.
       let missing = 'none needed';
       if (globalThis.WebSocket === undefined) {
         try { new Connection('ws://127.0.0.1:9/nodes'); } catch (err) { missing = err.message; }
       }
       console.log(JSON.stringify({ size: nodes.store.size, missing }));
       nodes.disconnect();
       await mock.close();
      `,
    );
    const out = JSON.parse(run(process.execPath, ['offline.mjs'], browserApp.dir).trim()) as { size: number; missing: string };
    expect(out.size).toBeGreaterThanOrEqual(3);
    if (out.missing !== 'none needed') expect(out.missing).toContain('npm install ws');
  });

  it('createServer imports, then refuses to start, naming what is missing and the one command that installs it', () => {
    writeFileSync(
      join(browserApp.dir, 'server.mjs'),
      `import { createServer, MissingPackageError } from 'monorail-ws/server';
       const tries = [{ port: 0 }, { port: 0, mongo: { url: 'mongodb://127.0.0.1:1' }, amqp: { url: 'amqp://127.0.0.1:1' } }];
       const out = [];
       for (const options of tries) {
         await createServer(options).then(
           (s) => { out.push('started'); return s.close(); },
           (err) => out.push({ missing: err instanceof MissingPackageError, message: err.message, command: err.command }),
         );
       }
       console.log(JSON.stringify(out));
      `,
    );
    const [plain, backends] = JSON.parse(run(process.execPath, ['server.mjs'], browserApp.dir).trim()) as Array<{
      missing: boolean;
      message: string;
      command: string;
    }>;
    expect(plain).toEqual({
      missing: true,
      message:
        'monorail-ws: the server (createServer, monorail-ws serve) needs the "ws" package, which is not installed: npm install ws@8.23',
      command: 'npm install ws@8.23',
    });
    expect(backends!.message).toMatch(/MongoDB \(--mongo, createServer\(\{mongo\}\)\) needs the "mongodb" package/);
    expect(backends!.command).toBe('npm install ws@8.23 mongodb@7.9 amqplib@2.3');
  });

  it('the CLI prints its usage, and `serve --mongo` exits 1 with one line naming the command to run', () => {
    const bin = join(browserApp.dir, 'node_modules/.bin/monorail-ws');
    expect(run(bin, ['--help'], browserApp.dir)).toContain('usage: monorail-ws serve');
    const serve = attempt(bin, ['serve', '--port', '0', '--mongo', 'mongodb://127.0.0.1:1'], browserApp.dir, {
      ...process.env,
      MONORAIL_JWT_SECRET: 'x'.repeat(32),
    });
    expect(serve.status).toBe(1);
    expect(serve.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^monorail-ws: the server .* needs the "jose" package, which are not installed: npm install ws@8\.23 mongodb@7\.9 jose@6$/,
      ),
    ]);
  });

  it('a browser bundler takes the installed client and mock without Node modules or ws (package.json browser field)', async () => {
    const result = await build({
      stdin: {
        contents: `export { Connection, Store, createClient } from 'monorail-ws/client'; export { createMockServer, startDemo } from 'monorail-ws/mock';`,
        resolveDir: browserApp.dir,
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
    const packages = inputs.filter((f) => !f.endsWith('/app.js'));
    expect(packages.filter((f) => f.startsWith('node:') || !/node_modules\/(monorail-ws|mock-socket)\//.test(f))).toEqual([]);
  });

  it('a TypeScript browser app type-checks against the client and mock declarations without @types/node', () => {
    writeFileSync(
      join(browserApp.dir, 'app.ts'),
      `import { Connection, type Doc } from 'monorail-ws/client';
       import { createMockServer, startDemo, type MockErrorEvent } from 'monorail-ws/mock';
       interface Node extends Doc { id: string; type: string }
       const mock = createMockServer({ url: 'ws://localhost:9100' });
       const nodes = new Connection<Node>(mock.url + '/nodes', { WebSocket: mock.WebSocket });
       nodes.events.on('error', (e) => e.kind === 'socket' && console.warn((e.event as MockErrorEvent).message));
       startDemo(mock.backend, { intervalMs: 1000 }).stop();
      `,
    );
    writeFileSync(
      join(browserApp.dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'ESNext',
          moduleResolution: 'Bundler',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          lib: ['ES2022', 'DOM'],
          types: [],
        },
        files: ['app.ts'],
      }),
    );
    expect(attempt(join(ROOT, 'node_modules/.bin/tsc'), ['-p', '.'], browserApp.dir).stdout).toBe('');
  });
});

describe('a React app: npm install monorail-ws react react-dom', () => {
  it('gets react as the optional peer it is, and monorail-ws/react renders on the server (loading until an effect opens the query)', () => {
    const app = install('react-app', [tarball, `react@${devVersion('react')}`, `react-dom@${devVersion('react-dom')}`]);
    expect(app.packages).toEqual(['mitt', 'mock-socket', 'monorail-ws', 'react', 'react-dom', 'scheduler']);
    expect(app.stderr).not.toMatch(/ERESOLVE|peer/);
    writeFileSync(
      join(app.dir, 'ssr.mjs'),
      `import { createElement as h } from 'react';
       import { renderToString } from 'react-dom/server';
       import { createClient } from 'monorail-ws/client';
       import { createMockServer } from 'monorail-ws/mock';
       import { MonorailProvider, useChannel, useConnectionState, useLive } from 'monorail-ws/react';
       const mock = createMockServer({ url: 'ws://localhost:9100' });
       const client = createClient({ url: mock.url, channels: ['nodes'], WebSocket: mock.WebSocket, autoConnect: false });
       function Nodes() {
         const nodes = useChannel('nodes');
         const { status, data } = useLive(nodes, { type: 'compute' });
         return h('p', null, status + ' ' + data.length + ' ' + useConnectionState(nodes));
       }
       console.log(renderToString(h(MonorailProvider, { client }, h(Nodes))));
       await mock.close();
      `,
    );
    expect(run(process.execPath, ['ssr.mjs'], app.dir).trim()).toBe('<p>loading 0 closed</p>');
  });
});

describe('a server: the documented install command', () => {
  it('gets the server’s packages', () => {
    expect(serverApp.packages).toEqual(expect.arrayContaining([...SERVER_ONLY, 'mitt', 'mock-socket', 'monorail-ws']));
    expect(serverApp.stderr).not.toMatch(/install-scripts|prepare|ERESOLVE/);
  });

  it('every subpath export imports in plain Node, and a client watches nodes on a server started from the package', () => {
    // monorail-ws/react needs react, which a server does not install: the React app below imports it.
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json' && k !== './react');
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
    writeFileSync(join(serverApp.dir, 'smoke.mjs'), script);
    const out = JSON.parse(run(process.execPath, ['smoke.mjs'], serverApp.dir).trim()) as { size: number; types: string[] };
    expect(out.size).toBeGreaterThan(0);
    expect(out.types).toEqual(['compute']);
  });

  it('the CLI bin starts a server', () => {
    expect(run(join(serverApp.dir, 'node_modules/.bin/monorail-ws'), ['--help'], serverApp.dir)).toContain('usage: monorail-ws serve');
  });

  it('a TypeScript consumer type-checks against the shipped declarations (NodeNext)', () => {
    run(
      'npm',
      ['install', ...NPM_FLAGS, `typescript@${devVersion('typescript')}`, `@types/node@${devVersion('@types/node')}`],
      serverApp.dir,
    );
    writeFileSync(
      join(serverApp.dir, 'consumer.ts'),
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
      join(serverApp.dir, 'tsconfig.json'),
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
    expect(() => run(join(serverApp.dir, 'node_modules/.bin/tsc'), ['-p', '.'], serverApp.dir)).not.toThrow();
  });
});
