/**
 * The playground's React page (`/react.html`, monorail-ws/react under StrictMode) in a real browser, against the
 * in-page mock (`mock` project) and a real server process on RabbitMQ (`real` project): a filtered `useLive` of the
 * nodes and `useConnectionState`, driven like the main page's specs.
 */
import type { Page } from '@playwright/test';
import { demoFixtures, makeNode } from '../server/demo/fixtures.js';
import { expect, test } from './fixtures.js';

const nodes = demoFixtures().nodes!;
const ofType = (type: string) => nodes.filter((n) => n.type === type);

/** Opens the page; returns what it reports as errors (React's warnings in development included). */
async function openReact(page: Page, backendUrl: string | undefined): Promise<string[]> {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  const params = new URLSearchParams({ backend: backendUrl ?? 'mock', maxBackoff: '1000' });
  await page.goto(`/react.html?${params.toString()}`);
  await expect(page.getByTestId('state-nodes')).toHaveText('open');
  return errors;
}

const row = (page: Page, id: unknown) => page.locator(`[data-testid="node-row"][data-id="${String(id)}"]`);

test('a filtered useLive shows only its nodes, follows changes, and moves to another filter', async ({ page, driver, realServer }) => {
  const errors = await openReact(page, realServer?.url);
  await expect(page.getByTestId('status')).toHaveText('ready');
  await expect(page.getByTestId('node-row')).toHaveCount(ofType('compute').length);

  const created = makeNode(81, 'compute');
  await driver.upsert('nodes', created);
  await expect(row(page, created.id)).toBeVisible({ timeout: 1000 });
  const aSwitch = makeNode(82, 'switch');
  await driver.upsert('nodes', aSwitch);
  await driver.upsert('nodes', { ...created, name: 'renamed-by-react-e2e' }); // after the switch: a barrier for it
  await expect(row(page, created.id).getByTestId('node-name')).toHaveText('renamed-by-react-e2e');
  await expect(row(page, aSwitch.id)).toHaveCount(0);

  await page.getByTestId('type-filter').selectOption('switch');
  await expect(page.getByTestId('node-row')).toHaveCount(ofType('switch').length + 1);
  await expect(row(page, aSwitch.id)).toBeVisible();
  await expect(page.getByTestId('status')).toHaveText('ready');
  await expect(page.getByTestId('previous')).toHaveCount(0);

  await driver.remove('nodes', aSwitch);
  await expect(row(page, aSwitch.id)).toHaveCount(0, { timeout: 1000 });
  expect(errors).toEqual([]);
});

test('an outage: the connection state says so, the rows stay (stale), and the changes made meanwhile arrive', async ({
  page,
  driver,
  realServer,
}) => {
  await openReact(page, realServer?.url);
  await expect(page.getByTestId('status')).toHaveText('ready');
  const created = makeNode(83, 'compute');
  await driver.outage(page, async () => {
    await expect(page.getByTestId('state-nodes')).toHaveText('reconnecting');
    await expect(page.getByTestId('status')).toHaveText('stale');
    await expect(page.getByTestId('node-row')).toHaveCount(ofType('compute').length);
    await driver.upsert('nodes', created);
  });
  await expect(page.getByTestId('state-nodes')).toHaveText('open');
  await expect(page.getByTestId('status')).toHaveText('ready');
  await expect(row(page, created.id)).toBeVisible();
});
