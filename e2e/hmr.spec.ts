/**
 * Hot reload that leaks nothing (issue 13): Vite's dev server, started here on a copy of e2e/hmr-app/, serves a module
 * that creates a client (and, on the mock, the mock) at module scope with `hotKeep`; the spec rewrites the module
 * three times and counts the connections the server holds — the real server's `/debug/stats` (`real` project), the
 * in-page mock's hub (`mock` project). Without `hotKeep` the same edit leaks three sockets, or fails on the mock URL.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { createServer, type ViteDevServer } from 'vite';
import { startServer, type ServerProcess } from '../test/support/processes.js';
import { expect, test } from './fixtures.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The copy the spec edits: beside the fixture, so its relative imports hold (git ignores `e2e/.hmr-run-*`). */
const APP = join(ROOT, 'e2e', `.hmr-run-${process.pid}`);
const MODULE = join(APP, 'app.ts');
const CHANNELS = 3;

let vite: ViteDevServer;
let server: ServerProcess | undefined;

test.beforeAll(async ({ backend }) => {
  cpSync(join(ROOT, 'e2e', 'hmr-app'), APP, { recursive: true });
  vite = await createServer({
    configFile: false,
    root: APP,
    logLevel: 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0 },
    // Every dependency bundled up front: a dependency found later would reload the page, which is no hot update.
    optimizeDeps: { include: ['mock-socket'] },
    // Its own cache: the default, node_modules/.vite, is the playground's, whose dev server runs beside this one.
    cacheDir: join(APP, '.vite'),
  });
  await vite.listen();
  if (backend === 'real') server = await startServer(['--port', '0', '--debug-stats']);
});

test.afterAll(async () => {
  await vite?.close();
  await server?.stop('SIGTERM');
  rmSync(APP, { recursive: true, force: true });
});

test.beforeEach(() => {
  // Each test starts from the fixture as committed.
  writeFileSync(MODULE, readFileSync(join(ROOT, 'e2e', 'hmr-app', 'app.ts'), 'utf8'));
});

/** Opens the fixture; collects what the page reports as errors (a failed hot update is logged, not thrown). */
async function open(page: Page, keep: boolean): Promise<string[]> {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  const params = new URLSearchParams({ backend: server?.url ?? 'mock', ...(keep ? {} : { keep: 'no' }) });
  await page.goto(`${vite.resolvedUrls!.local[0]}?${params.toString()}`);
  await expect(page.getByTestId('edit')).toHaveText('0');
  await expect(page.getByTestId('state')).toHaveText('open');
  return errors;
}

/** Rewrites the module, as an editor saves it. */
function edit(n: number): void {
  writeFileSync(MODULE, readFileSync(MODULE, 'utf8').replace(/const EDIT = \d+;/, `const EDIT = ${n};`));
}

/** The connections the server holds now. */
async function connections(page: Page): Promise<number> {
  if (server) {
    const stats = (await (await fetch(`${server.url.replace(/^ws/, 'http')}/debug/stats`)).json()) as { hub: { connections: number } };
    return stats.hub.connections;
  }
  return page.evaluate(() => (window as unknown as { __hmr: { connections: () => number } }).__hmr.connections());
}

test('a client and a mock kept with hotKeep: three edits, the server holds the same three connections', async ({ page }) => {
  const errors = await open(page, true);
  expect(await connections(page)).toBe(CHANNELS);
  for (let n = 1; n <= 3; n++) {
    edit(n);
    // Shown once every channel of the client this run holds has a session: a socket it opened would count now.
    await expect(page.getByTestId('edit')).toHaveText(String(n));
    await expect(page.getByTestId('runs')).toHaveText(String(n + 1)); // a hot update, not a page reload
    expect(await connections(page)).toBe(CHANNELS);
  }
  await expect(page.getByTestId('state')).toHaveText('open');
  await expect(page.getByTestId('size')).not.toHaveText('0');
  expect(errors).toEqual([]);
});

test('without hotKeep, one edit leaks a client (real server: 3 → 6) or fails on the mock URL', async ({ page, backend }) => {
  const errors = await open(page, false);
  expect(await connections(page)).toBe(CHANNELS);
  edit(1);
  if (backend === 'real') {
    await expect(page.getByTestId('edit')).toHaveText('1');
    expect(await connections(page)).toBe(2 * CHANNELS);
  } else {
    await expect.poll(() => errors.join('\n')).toContain('another mock server already serves ws://hmr.mock.local');
    await expect(page.getByTestId('edit')).toHaveText('0');
  }
});
