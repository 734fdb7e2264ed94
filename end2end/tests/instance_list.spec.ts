import { expect, test } from '@playwright/test';
import { createNodes, hydrated, screenshot, snapshot, unique } from './helpers';

test('the instance list shows rows from the database and filters by state after hydration', async ({ page, request }) => {
  const prefix = unique('e2e_list');
  await createNodes(request, [
    { name: `${prefix}_extract`, workflow: 'e2e', owner: 'alice', command: 'true', schedule: '0 1 * * *' },
    { name: `${prefix}_load`, workflow: 'e2e', owner: 'alice', command: 'true', schedule: '0 2 * * *', upstream: [`${prefix}_extract`] },
  ]);
  // A run date in the future: the root waits for its time, the child waits for the root.
  expect(await snapshot(request, '2031-01-15')).toBeGreaterThanOrEqual(2);

  await page.goto(`/?node=${prefix}`);
  await hydrated(page);
  const rows = page.locator('table.instances tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: `${prefix}_extract` })).toHaveAttribute('data-state', 'waiting_time');
  await expect(rows.filter({ hasText: `${prefix}_load` })).toHaveAttribute('data-state', 'not_run');
  await expect(rows.first()).toContainText('2031-01-14'); // business date = run date - 1
  await screenshot(page, 'instance-list');

  // The state filter is an interactive control: it only works once the page has hydrated.
  await page.getByLabel('State', { exact: true }).selectOption('not_run');
  await expect(page).toHaveURL(/state=not_run/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(`${prefix}_load`);
  await expect(rows.first().locator('.badge')).toHaveText(/not run/);
});

test('the statistics bar counts the filtered instances', async ({ page, request }) => {
  const prefix = unique('e2e_stats');
  await createNodes(request, [
    { name: `${prefix}_hourly`, workflow: 'e2e', owner: 'bob', command: 'true', schedule: '0 * * * *' },
  ]);
  await snapshot(request, '2031-02-01');
  await page.goto(`/?node=${prefix}`);
  await hydrated(page);
  await expect(page.locator('[data-stat="total"] .count')).toHaveText('24');
  await expect(page.locator('[data-stat="waiting_time"] .count')).toHaveText('24');
  await expect(page.locator('table.instances tbody tr')).toHaveCount(24);
});
