/**
 * `npm run screenshot`: regenerates docs/playground.png, the README's picture of the playground — the page on
 * its in-page mock with the demo simulator running, in Debian's Chromium.
 */
import { chromium } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { createServer as createVite } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const vite = await createVite({ configFile: `${root}vite.config.ts`, server: { port: 0 }, logLevel: 'error' });
await vite.listen();
const base = vite.resolvedUrls!.local[0]!;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 960 }, deviceScaleFactor: 1 });
  await page.goto(`${base}?demo=1&interval=250`);
  // Let the simulator discover nodes and run a few workflows, then pick the newest compute node (its workflow is
  // running) and that workflow, so the log pane shows its lines.
  await page.waitForTimeout(5000);
  await page.locator('[data-testid="node-row"][data-type="compute"]').last().click();
  await page.locator('[data-testid="workflow-row"]').first().click();
  await page.locator('[data-testid="log-line"]').first().waitFor();
  await page.locator('[data-testid="frame"][data-handler="item"]').first().click();
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${root}docs/playground.png`, fullPage: true });
  process.stdout.write('wrote docs/playground.png\n');
} finally {
  await browser.close();
  await vite.close();
}
