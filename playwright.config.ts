import { defineConfig } from '@playwright/test';
import type { E2EOptions } from './e2e/fixtures.js';

/** Debian's Chromium; a browser is never downloaded (`npx playwright install` cannot reach its CDN here). */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const port = Number(process.env.E2E_PLAYGROUND_PORT ?? 5174);

export default defineConfig<E2EOptions>({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  // Two cores, and the real project restarts server processes: one spec at a time keeps timings honest.
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 5_000 },
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    viewport: { width: 1500, height: 1000 },
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  projects: [
    { name: 'mock', use: { backend: 'mock' } },
    // `@mock-only` tests need what only the in-page mock offers (its latency option); they are not run, rather than
    // reported as skipped, against the real server.
    { name: 'real', use: { backend: 'real' }, grepInvert: /@mock-only/ },
  ],
  // The playground's dev server (it exposes the mock's control API on window). The monorail-ws server of the
  // `real` project is started (and restarted) by a fixture, not here, because an outage test must kill it.
  webServer: {
    command: `npx vite --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
});
