import { expect, test } from './fixtures';
import { createNodes, deleteCreatedNodes, hydrated, instancesOf, row, screenshot, snapshot, unique } from './helpers';
import { lang, state, t } from './i18n';

test.afterEach(async ({ request }) => deleteCreatedNodes(request));

test('the list shows rows from the database; filters live in the URL and survive a reload', async ({ page, request }) => {
  const prefix = unique('e2e_list');
  await createNodes(request, [
    { name: `${prefix}_extract`, workflow: 'e2e', owner: 'alice', command: 'true', schedule: '0 1 * * *' },
    { name: `${prefix}_load`, workflow: 'e2e', owner: 'alice', command: 'true', schedule: '0 2 * * *', upstream: [`${prefix}_extract`] },
  ]);
  // A run date in the future: the root waits for its time, the child waits for the root.
  expect(await snapshot(request, '2031-01-15')).toBeGreaterThanOrEqual(2);

  await page.goto('/cycle?state=any');
  await hydrated(page);
  // Typing a node name filters (it only works once the page has hydrated).
  const nodeFilter = page.getByLabel(t('instances.filter.node'), { exact: true });
  await nodeFilter.fill(prefix);
  await nodeFilter.press('Enter');
  await expect(page).toHaveURL(new RegExp(`node=${prefix}`));
  const rows = page.locator('table.instances tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(row(page, `${prefix}_extract`)).toHaveAttribute('data-state', 'waiting_time');
  await expect(row(page, `${prefix}_load`)).toHaveAttribute('data-state', 'not_run');
  await expect(rows.first()).toContainText('2031-01-14'); // business date = run date - 1
  await screenshot(page, `${lang()}-cycle`);

  // A state chip narrows the list and writes itself into the URL.
  await page.locator('.chips [data-state="not_run"]').click();
  await expect(page).toHaveURL(/state=not_run/);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(`${prefix}_load`);
  await expect(rows.first().locator('.badge').first().locator('.label')).toHaveText(state('not_run'));

  // The URL alone reproduces the view.
  await page.reload();
  await hydrated(page);
  await expect(nodeFilter).toHaveValue(prefix);
  await expect(page.locator('.chips [data-state="not_run"]')).toHaveAttribute('aria-pressed', 'true');
  await expect(rows).toHaveCount(1);
});

test('a bare URL shows the default view: my failed instances', async ({ page, request }) => {
  const prefix = unique('e2e_default');
  await createNodes(request, [
    { name: `${prefix}_mine`, owner: 'admin', command: 'exit 1', schedule: '0 1 * * *' },
    { name: `${prefix}_theirs`, owner: 'bob', command: 'exit 1', schedule: '0 1 * * *' },
  ]);
  await snapshot(request, '2020-02-02');
  await expect.poll(async () => {
    const r = await request.get(`/api/v1/instances?node=${prefix}&state=failed`);
    return (await r.json()).items.length;
  }, { timeout: 20_000 }).toBe(2);

  await page.goto('/cycle');
  await hydrated(page);
  // The tests are signed in as the demo administrator, "admin".
  await expect(page).toHaveURL(/state=failed,stopped&owner=admin/);
  await expect(row(page, `${prefix}_mine`)).toHaveCount(1);
  await expect(row(page, `${prefix}_theirs`)).toHaveCount(0);
});

test('the statistics follow the filters and a counter filters by its state', async ({ page, request }) => {
  const prefix = unique('e2e_stats');
  await createNodes(request, [
    { name: `${prefix}_hourly`, workflow: 'e2e', owner: 'bob', command: 'true', schedule: '0 * * * *' },
    { name: `${prefix}_daily`, workflow: 'e2e', owner: 'bob', command: 'true', schedule: '0 5 * * *', upstream: [`${prefix}_hourly`] },
  ]);
  await snapshot(request, '2031-02-01');
  await page.goto(`/cycle?state=any&node=${prefix}`);
  await hydrated(page);
  await expect(page.locator('[data-stat="total"] .count')).toHaveText('25');
  await expect(page.locator('[data-stat="waiting_time"] .count')).toHaveText('24');
  await expect(page.locator('[data-stat="not_run"] .count')).toHaveText('1');

  await page.locator('[data-stat="not_run"]').click();
  await expect(page).toHaveURL(/state=not_run/);
  await expect(page.locator('table.instances tbody tr')).toHaveCount(1);
  await expect(page.locator('li.active [data-stat="not_run"]')).toHaveCount(1);
  // The counters keep counting every state of the filtered nodes.
  await expect(page.locator('[data-stat="total"] .count')).toHaveText('25');
});

test('a part of a node name finds its instances in any case; the counters follow changes made elsewhere', async ({ page, request }) => {
  const prefix = unique('e2e_part');
  const node = `${prefix}_orders_daily`;
  await createNodes(request, [
    { name: node, workflow: 'e2e', owner: 'bob', command: 'true', schedule: '0 * * * *' },
  ]);
  await snapshot(request, '2031-03-01');
  // The middle of the name, upper-cased: a substring, found through the trigram index.
  const part = `${prefix.slice(4)}_ORDERS`.toUpperCase();
  await page.goto(`/cycle?state=any&node=${encodeURIComponent(part)}`);
  await hydrated(page);
  await expect(page.locator('[data-stat="total"] .count')).toHaveText('24');
  await expect(page.locator('[data-stat="waiting_time"] .count')).toHaveText('24');
  await expect(row(page, node)).toHaveCount(24);
  // Someone else kills one: the counters follow without a reload (within a few seconds).
  const [first] = await instancesOf(request, node);
  const killed = await request.post(`/api/v1/instances/${first.id}/kill`, { data: {} });
  expect(killed.status(), await killed.text()).toBe(200);
  await expect(page.locator('[data-stat="failed"] .count')).toHaveText('1', { timeout: 10_000 });
  await expect(page.locator('[data-stat="waiting_time"] .count')).toHaveText('23');
  await expect(page.locator('[data-stat="total"] .count')).toHaveText('24');
  await screenshot(page, `name-search-${lang()}`);
});
