/**
 * The playground's panes on live queries (issue 13), against the in-page mock (`mock` project) and a real server
 * process on RabbitMQ (`real` project): each pane's status badge, the nodes type filter moving one live query with
 * `setParams` (the previous rows stay until the new list; the table never empties in between), the log pane following
 * the selected workflow, and `stale` with the data still on screen while the connection is away.
 */
import type { Page } from '@playwright/test';
import type { Doc } from '../protocol/index.js';
import { demoFixtures, makeLog } from '../server/demo/fixtures.js';
import { expect, test } from './fixtures.js';

const fixtures = demoFixtures();
const nodes = fixtures.nodes!;
const firstCompute = nodes.find((n) => n.type === 'compute')!;
const ofType = (type: string) => (type === 'all' ? nodes : nodes.filter((n) => n.type === type));

const status = (page: Page, pane: string) => page.getByTestId(`${pane}-status`);
const byId = (page: Page, testid: string, id: unknown) => page.locator(`[data-testid="${testid}"][data-id="${String(id)}"]`);

test.beforeEach(async ({ open }) => {
  await open();
});

test('every pane shows its live query reaching ready', async ({ page }) => {
  for (const pane of ['nodes', 'workflows', 'catalogs', 'logs', 'skus', 'resources']) {
    await expect(status(page, pane)).toHaveAttribute('data-status', 'ready');
  }
  await expect(page.getByTestId('node-row')).toHaveCount(nodes.length);
});

test('the type filter moves one live query: never an empty table in between, then only that type', async ({ page, driver }) => {
  // On the mock, each list takes a visible while (two 150 ms hops), as over a network: an empty table in between would
  // be on screen for frames, not for none.
  if (driver.kind === 'mock') await page.goto('/?backend=mock&latency=150&maxBackoff=1000');
  await expect(status(page, 'nodes')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('node-row')).toHaveCount(nodes.length);
  // Every row count the pane ever shows from here on, recorded in the page as the DOM changes.
  await page.evaluate(() => {
    const pane = document.querySelector('[data-testid="nodes"]')!;
    const counts: number[] = [];
    (window as unknown as { __rowCounts: number[] }).__rowCounts = counts;
    new MutationObserver(() => counts.push(pane.querySelectorAll('[data-testid="node-row"]').length)).observe(pane, {
      childList: true,
      subtree: true,
    });
  });
  for (const type of ['compute', 'switch', 'pdu', 'enclosure', 'all']) {
    await page.getByTestId('node-type').selectOption(type);
    const expected = ofType(type);
    expect(expected.length).toBeGreaterThan(0);
    await expect(page.getByTestId('node-row')).toHaveCount(expected.length);
    if (type !== 'all') await expect(page.locator(`[data-testid="node-row"]:not([data-type="${type}"])`)).toHaveCount(0);
    for (const node of expected) await expect(byId(page, 'node-row', node.id)).toBeVisible();
    await expect(page.getByTestId('nodes-table')).not.toHaveAttribute('data-previous', 'true');
    await expect(page.getByTestId('nodes-updating')).toHaveCount(0);
    await expect(status(page, 'nodes')).toHaveAttribute('data-status', 'ready');
  }
  const counts = await page.evaluate(() => (window as unknown as { __rowCounts: number[] }).__rowCounts);
  expect(counts.length).toBeGreaterThanOrEqual(5);
  expect(counts).not.toContain(0);
});

// Runs in the mock project only (`@mock-only`, see playwright.config.ts): the delay comes from the in-page mock's
// latency option.
test('while the new list is on its way, the previous rows stay, dimmed and marked "updating…" @mock-only', async ({ page }) => {
  await page.goto('/?backend=mock&latency=400&maxBackoff=1000');
  await expect(status(page, 'nodes')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('node-row')).toHaveCount(nodes.length);

  await page.getByTestId('node-type').selectOption('switch');
  await expect(page.getByTestId('nodes-updating')).toBeVisible();
  await expect(page.getByTestId('nodes-table')).toHaveAttribute('data-previous', 'true');
  await expect(page.getByTestId('nodes-table')).toHaveClass(/previous/);
  await expect(page.getByTestId('node-row')).toHaveCount(nodes.length);
  // Then the new list, in one step.
  await expect(page.getByTestId('node-row')).toHaveCount(ofType('switch').length);
  await expect(page.getByTestId('nodes-updating')).toHaveCount(0);
  await expect(page.getByTestId('nodes-table')).not.toHaveAttribute('data-previous', 'true');
});

test("selecting another workflow moves the log query: only that workflow's lines", async ({ page, driver }) => {
  const [first, second] = fixtures.workflows!.filter((w) => w.node === firstCompute.id);
  const fixtureLines = (w: Doc) => fixtures.logs!.filter((l) => (l.context as Doc | undefined)?.graphInstance === w.instanceId);
  const now = new Date().toISOString();
  const line = (n: number, w: Doc, message: string): Doc => ({
    ...makeLog(n, String(firstCompute.id), 'info', message, { graphInstance: String(w.instanceId) }),
    timestamp: now,
  });
  await byId(page, 'node-row', firstCompute.id).click();
  // The workflows pane shows this node's workflows only.
  await expect(page.getByTestId('workflow-row')).toHaveCount(2);
  await expect(page.locator(`[data-testid="workflow-row"]:not([data-node="${String(firstCompute.id)}"])`)).toHaveCount(0);
  await driver.log(line(921, first!, 'e2e: a line of the first workflow'));
  await driver.log(line(922, second!, 'e2e: a line of the second workflow'));

  const lines = page.getByTestId('log-line');
  const notOf = (w: Doc) => page.locator(`[data-testid="log-line"]:not([data-graph="${String(w.instanceId)}"])`);
  await byId(page, 'workflow-row', first!.instanceId).click();
  await expect(lines.filter({ hasText: 'e2e: a line of the first workflow' })).toHaveCount(1);
  await expect(lines).toHaveCount(fixtureLines(first!).length + 1);
  await expect(notOf(first!)).toHaveCount(0);
  await expect(status(page, 'logs')).toHaveAttribute('data-status', 'ready');

  await byId(page, 'workflow-row', second!.instanceId).click();
  await expect(lines.filter({ hasText: 'e2e: a line of the second workflow' })).toHaveCount(1);
  await expect(lines).toHaveCount(fixtureLines(second!).length + 1);
  await expect(notOf(second!)).toHaveCount(0);
  await expect(page.getByTestId('log-lines')).not.toContainText('e2e: a line of the first workflow');
  await expect(status(page, 'logs')).toHaveAttribute('data-status', 'ready');
});

test('a dropped connection: the panes say stale and keep their rows, then ready again', async ({ page, driver }) => {
  await expect(status(page, 'nodes')).toHaveAttribute('data-status', 'ready');
  await expect(status(page, 'skus')).toHaveAttribute('data-status', 'ready');
  await driver.outage(page, async () => {
    await expect(page.getByTestId('state-nodes')).toContainText('reconnecting');
    await expect(status(page, 'nodes')).toHaveAttribute('data-status', 'stale');
    await expect(page.getByTestId('nodes-table')).toHaveClass(/stale/);
    await expect(page.getByTestId('node-row')).toHaveCount(nodes.length);
    await expect(status(page, 'skus')).toHaveAttribute('data-status', 'stale');
    await expect(page.getByTestId('skus-list').getByTestId('sku')).toHaveCount(fixtures.skus!.length);
  });
  await expect(page.getByTestId('state-nodes')).toHaveText('open', { timeout: 15_000 });
  await expect(status(page, 'nodes')).toHaveAttribute('data-status', 'ready');
  // The in-page mock runs with resume and stays the same history through a drop: the views come back with the missed
  // changes only. The real server was restarted without --resume: a full list.
  await expect(status(page, 'nodes')).toHaveAttribute('data-via', driver.kind === 'mock' ? 'resume' : 'list');
  if (driver.kind === 'mock') await expect(status(page, 'nodes')).toHaveText('ready · resumed');
  await expect(page.getByTestId('nodes-table')).not.toHaveClass(/stale/);
  await expect(page.getByTestId('node-row')).toHaveCount(nodes.length);
});
