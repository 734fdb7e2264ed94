import { expect, test } from './fixtures';
import { createNodes, deleteCreatedNodes, hydrated, instancesOf, screenshot, snapshot, unique, waitForState } from './helpers';
import { lang, t, tx } from './i18n';

test.afterEach(async ({ request }) => deleteCreatedNodes(request));

test('the live log tails a running command and offers the whole log after', async ({ page, request }) => {
  const prefix = unique('e2e_log');
  await createNodes(request, [
    { name: `${prefix}_talk`, owner: 'admin', command: 'for i in 1 2 3 4 5 6; do echo line $i; sleep 0.7; done', schedule: '0 1 * * *' },
  ]);
  await snapshot(request, '2020-08-02');
  const running = await waitForState(request, `${prefix}_talk`, 'running');
  await page.goto(`/instances/${running.id}/log`);
  await hydrated(page);
  const log = page.locator('pre.log');
  await expect(page.locator('.badge.live')).toBeVisible();
  await expect(log).toContainText('line 1');
  // New lines arrive without a reload.
  await expect(log).toContainText('line 6', { timeout: 15_000 });
  await expect(log).toContainText('[nightshift] succeeded');
  await expect(log).toHaveAttribute('data-done', 'true');
  await expect(page.locator('.head-actions .badge')).toHaveText(t('detail.log.complete'));
  await expect(page.getByRole('link', { name: t('detail.log.download'), exact: true })).toHaveAttribute('href', new RegExp(`/api/v1/instances/${running.id}/log\\?attempt=1&download=true`));
  await screenshot(page, `${lang()}-log`);
});

test('the detail page shows properties, why it waits, a duration chart and its neighbours', async ({ page, request }) => {
  const prefix = unique('e2e_detail');
  await createNodes(request, [
    { name: `${prefix}_hourly`, owner: 'admin', command: 'sleep 0.1', schedule: '0 */4 * * *' },
    { name: `${prefix}_daily`, owner: 'admin', command: 'true', schedule: '0 23 * * *', upstream: [`${prefix}_hourly`] },
    { name: `${prefix}_blocked`, owner: 'admin', command: 'true', schedule: '0 1 * * *', upstream: [`${prefix}_daily`] },
  ]);
  await snapshot(request, '2020-09-02');
  await expect.poll(async () => (await instancesOf(request, `${prefix}_daily`))[0]?.state, { timeout: 20_000 }).toBe('success');
  const hourly = (await instancesOf(request, `${prefix}_hourly`));
  expect(hourly.length).toBe(6);

  const daily = (await instancesOf(request, `${prefix}_daily`))[0];
  await page.goto(`/instances/${daily.id}`);
  await hydrated(page);
  await expect(page.locator('h1')).toContainText(`${prefix}_daily`);
  await expect(page.locator('.properties')).toContainText(t('detail.property.bizdate'));
  // Up/downstream tables, each row linking to its own detail.
  const upstream = page.locator('#neighbours table').first().locator('tbody tr');
  await expect(upstream).toHaveCount(6);
  const downstreamLink = page.locator('#neighbours table').nth(1).getByRole('link', { name: `${prefix}_blocked` });
  await expect(downstreamLink).toBeVisible();

  // The chart of the node's past runs: one bar per run of an hourly node.
  await page.goto(`/instances/${hourly[0].id}`);
  await hydrated(page);
  await expect(page.locator('svg.chart rect.bar')).toHaveCount(6);
  await screenshot(page, `${lang()}-detail`);

  // Why isn't it running? A future instance says what it waits for.
  await snapshot(request, '2031-09-02');
  const future = (await instancesOf(request, `${prefix}_blocked`)).find((i) => i.state === 'not_run')!;
  await page.goto(`/instances/${future.id}`);
  await hydrated(page);
  await expect(page.locator('.why')).toContainText(
    tx('detail.waiting.upstream_singular', { count: 1, listed: tx('detail.waiting.holding', { node: `${prefix}_daily` }) }),
  );
  // Its upstream's upstream waits for the clock; the neighbour links lead there.
  await page.locator('#neighbours table').first().getByRole('link').first().click();
  await expect(page).toHaveURL(/\/instances\/\d+$/);
  await hydrated(page);
  await expect(page.locator('h1')).toContainText(`${prefix}_daily`);
  await page.locator('#neighbours table').first().getByRole('link').first().click();
  await hydrated(page);
  await expect(page.locator('h1')).toContainText(`${prefix}_hourly`);
  await expect(page.locator('.why')).toContainText(
    tx('detail.waiting.planned', { when: tx('detail.waiting.when_in', { at: '2031-09-02 00:00:00' }) }),
  );
});

test('the flow view draws the DAG around an instance, coloured by state, with the same menu', async ({ page, request }) => {
  const prefix = unique('e2e_flow');
  await createNodes(request, [
    { name: `${prefix}_root`, owner: 'admin', command: 'true', schedule: '0 1 * * *' },
    { name: `${prefix}_mid1`, owner: 'admin', command: 'exit 1', schedule: '0 2 * * *', upstream: [`${prefix}_root`] },
    { name: `${prefix}_mid2`, owner: 'admin', command: 'true', schedule: '0 2 * * *', upstream: [`${prefix}_root`] },
    { name: `${prefix}_leaf`, owner: 'admin', command: 'true', schedule: '0 3 * * *', upstream: [`${prefix}_mid1`, `${prefix}_mid2`] },
  ]);
  await snapshot(request, '2020-10-02');
  const mid1 = await waitForState(request, `${prefix}_mid1`, 'failed');
  await waitForState(request, `${prefix}_mid2`, 'success');
  const root = (await instancesOf(request, `${prefix}_root`))[0];

  await page.goto(`/instances/${root.id}/flow`);
  await hydrated(page);
  const nodes = page.locator('svg.flow g.fnode');
  await expect(nodes).toHaveCount(4);
  await expect(page.locator(`svg.flow g.fnode[data-id="${mid1.id}"]`)).toHaveAttribute('data-state', 'failed');
  await expect(page.locator(`svg.flow g.fnode.center`)).toHaveAttribute('data-id', String(root.id));
  await expect(page.locator('svg.flow path.fedge')).toHaveCount(4);
  // Left to right by dependency level.
  const x = async (node: string) => (await page.locator(`svg.flow g.fnode:has(title:text-matches("^${node} "))`).boundingBox())!.x;
  expect(await x(`${prefix}_root`)).toBeLessThan(await x(`${prefix}_mid1`));
  expect(await x(`${prefix}_mid1`)).toBeLessThan(await x(`${prefix}_leaf`));
  await screenshot(page, `${lang()}-flow`);

  await page.locator(`svg.flow g.fnode[data-id="${mid1.id}"]`).click({ button: 'right' });
  const menu = page.getByRole('menu');
  await expect(menu).toContainText(`${prefix}_mid1`);
  await expect(menu.locator('[data-op="set_success"]')).not.toHaveAttribute('aria-disabled', 'true');
  await menu.locator('[data-op="set_success"]').click();
  await page.getByRole('dialog').locator('[data-confirm="set_success"]').click();
  // Live: the node turns green and the leaf runs.
  await expect(page.locator(`svg.flow g.fnode[data-id="${mid1.id}"]`)).toHaveAttribute('data-state', 'success', { timeout: 20_000 });
  await waitForState(request, `${prefix}_leaf`, 'success');
});
