/**
 * The playground in a real browser, against the in-page mock (`mock` project) and a real server process on
 * RabbitMQ (`real` project): the same specs, only the driver differs.
 */
import { makeLog, makeNode, makeWorkflow, demoFixtures } from '../server/demo/fixtures.js';
import type { Doc } from '../protocol/index.js';
import { expect, test } from './fixtures.js';

const fixtures = demoFixtures();
const firstCompute = fixtures.nodes!.find((n) => n.type === 'compute')!;

test.beforeEach(async ({ open }) => {
  await open();
});

test('the nodes table fills from the snapshot', async ({ page }) => {
  const rows = page.getByTestId('node-row');
  await expect(rows).toHaveCount(fixtures.nodes!.length);
  for (const node of fixtures.nodes!) {
    await expect(page.locator(`[data-testid="node-row"][data-id="${String(node.id)}"]`)).toContainText(String(node.name));
  }
  await expect(page.getByTestId('skus-list').getByTestId('sku')).toHaveCount(fixtures.skus!.length);
});

test('a created, an updated and a destroyed node appear, change and disappear within a second', async ({ page, driver }) => {
  const created = makeNode(77, 'compute');
  const row = page.locator(`[data-testid="node-row"][data-id="${String(created.id)}"]`);
  await driver.upsert('nodes', created);
  await expect(row).toBeVisible({ timeout: 1000 });

  await driver.upsert('nodes', { ...created, name: 'renamed-by-e2e', type: 'switch' });
  await expect(row.getByTestId('node-name')).toHaveText('renamed-by-e2e', { timeout: 1000 });

  await driver.remove('nodes', created);
  await expect(row).toHaveCount(0, { timeout: 1000 });
});

test('a workflow moves through its states', async ({ page, driver }) => {
  const base = makeWorkflow(61, String(firstCompute.id), 'pending', 'Install CentOS', 'Graph.InstallCentOS');
  const row = page.locator(`[data-testid="workflow-row"][data-id="${String(base.instanceId)}"]`);
  const states: Array<[string, number]> = [
    ['pending', 0],
    ['running', 2],
    ['running', 3],
    ['succeeded', 4],
  ];
  for (const [status, value] of states) {
    await driver.upsert('workflows', {
      ...base,
      _status: status,
      progress: { value, maximum: 4, percentage: `${value * 25}%`, description: '' },
    });
    await expect(row.getByTestId('workflow-status')).toHaveText(status);
    await expect(row.getByTestId('workflow-progress')).toHaveAttribute('data-value', String(status === 'succeeded' ? 100 : value * 25));
  }
});

test('log lines for the selected node stream in and the level filter works', async ({ page, driver }) => {
  const node = fixtures.nodes!.find((n) => n.type === 'compute' && n.id !== firstCompute.id)!;
  await page.locator(`[data-testid="node-row"][data-id="${String(node.id)}"]`).click();
  const lines = page.getByTestId('log-line');
  // This test's own lines, counted by their text: the node's earlier lines arrive with the watch's snapshot, which
  // against the real server may land before or after a count taken right after the click.
  const ours = lines.filter({ hasText: 'e2e:' });
  const entries: Doc[] = [
    { ...makeLog(901, String(node.id), 'info', 'e2e: task started'), timestamp: new Date().toISOString() },
    { ...makeLog(902, String(node.id), 'debug', 'e2e: details'), timestamp: new Date().toISOString() },
    { ...makeLog(903, String(node.id), 'error', 'e2e: task failed'), timestamp: new Date().toISOString() },
    { ...makeLog(904, 'another-node', 'error', 'e2e: not for this node'), timestamp: new Date().toISOString() },
  ];
  for (const entry of entries) await driver.log(entry);
  await expect(ours).toHaveCount(3);
  await expect(page.getByTestId('log-lines')).toContainText('e2e: task failed');
  await expect(page.getByTestId('log-lines')).not.toContainText('not for this node');

  await page.getByTestId('log-level').selectOption('warning');
  await expect(ours).toHaveCount(1);
  await expect(ours).toHaveAttribute('data-level', 'error');
});

test('an outage shows "reconnecting", then the view converges on the source, including changes made meanwhile', async ({
  page,
  driver,
}) => {
  const nodes = fixtures.nodes!;
  const renamed: Doc = { ...nodes[0]!, name: 'renamed-while-away' };
  const removed = nodes[1]!;
  const added = makeNode(88, 'switch');
  await driver.outage(page, async () => {
    await expect(page.getByTestId('state-nodes')).toContainText('reconnecting');
    await driver.upsert('nodes', renamed);
    await driver.remove('nodes', removed);
    await driver.upsert('nodes', added);
  });
  await expect(page.getByTestId('state-nodes')).toHaveText('open', { timeout: 15_000 });
  await expect(page.locator(`[data-testid="node-row"][data-id="${String(renamed.id)}"]`)).toContainText('renamed-while-away');
  await expect(page.locator(`[data-testid="node-row"][data-id="${String(removed.id)}"]`)).toHaveCount(0);
  await expect(page.locator(`[data-testid="node-row"][data-id="${String(added.id)}"]`)).toBeVisible();
  await expect(page.getByTestId('node-row')).toHaveCount(nodes.length);
});

test('the inspector shows frames in and out', async ({ page }) => {
  const frames = page.getByTestId('frame');
  await expect(frames.first()).toBeVisible();
  await expect(page.locator('[data-testid="frame"][data-dir="out"][data-handler="watch"]').first()).toBeVisible();
  await expect(page.locator('[data-testid="frame"][data-dir="in"][data-handler="list"]').first()).toBeVisible();
  await page.locator('[data-testid="frame"][data-handler="session"]').first().click();
  await expect(page.getByTestId('frame-detail')).toContainText('"handler": "session"');
});

test('final state screenshot', async ({ page, driver }, testInfo) => {
  await driver.upsert('nodes', makeNode(99, 'compute'));
  await expect(page.getByTestId('node-row')).toHaveCount(fixtures.nodes!.length + 1);
  await page.screenshot({ path: `test-results/playground-${testInfo.project.name}.png`, fullPage: true });
});

test('the resource tabs show the six other RackHD resources', async ({ page }) => {
  for (const tab of ['graphdefinitions', 'taskdefinitions', 'templates', 'profiles', 'files', 'lookups']) {
    await page.getByTestId(`tab-${tab}`).click();
    await expect(page.getByTestId('resource-list')).toHaveAttribute('data-resource', tab);
    await expect(page.getByTestId('resource-list').getByTestId('resource')).toHaveCount(fixtures[tab]!.length);
  }
});

test('the live mq pane streams on.logging lines as RackHD publishes them', async ({ page, driver }) => {
  const lines = page.getByTestId('mq-lines').getByTestId('mq-line');
  const line = lines.filter({ hasText: 'e2e: mq stream' });
  // A live query on the topic pattern #: ready, then every line after its list.
  await expect(page.getByTestId('mq-status')).toHaveAttribute('data-status', 'ready');
  await driver.log(makeLog(990, String(firstCompute.id), 'warning', 'e2e: mq stream'));
  await expect(line).toHaveCount(1);
  await expect(line).toHaveAttribute('data-routing-key', 'warning');

  // Moved to the routing key error: only error lines, the warning gone once its list is there.
  await page.getByTestId('mq-topic').selectOption({ label: 'on.logging error' });
  await expect(page.getByTestId('mq-status')).toHaveAttribute('data-status', 'ready');
  await expect(line).toHaveCount(0);
  await driver.log(makeLog(991, String(firstCompute.id), 'error', 'e2e: mq error'));
  await expect(lines.filter({ hasText: 'e2e: mq error' })).toHaveAttribute('data-routing-key', 'error');
  await expect(lines.and(page.locator(':not([data-routing-key="error"])'))).toHaveCount(0);
});
