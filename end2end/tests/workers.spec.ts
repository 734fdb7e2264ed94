import { expect, test } from './fixtures';
import { hydrated, screenshot } from './helpers';
import { lang, t } from './i18n';

test('the workers page shows this server with all three roles, its heartbeat and its lease', async ({ page, request }) => {
  // The same list the REST API gives.
  const listed = await (await request.get('/api/v1/workers')).json();
  expect(listed.length).toBeGreaterThanOrEqual(1);
  const me = listed[0];
  expect(me.roles).toEqual(['api', 'scheduler', 'worker']);
  expect(me.alive).toBe(true);

  await page.goto('/');
  await hydrated(page);
  await page.locator('.topbar nav').getByRole('link', { name: t('common.nav.workers'), exact: true }).click();
  await expect(page).toHaveURL(/\/workers$/);
  await expect(page.getByRole('heading', { name: t('workers.title'), exact: true })).toBeVisible();
  const row = page.locator(`tr[data-worker="${me.name}"]`);
  await expect(row).toBeVisible();
  await expect(row).toContainText(t('workers.role.scheduler'));
  await expect(row).toContainText(t('workers.all_groups'));
  await expect(row.locator('.badge')).toHaveText(t('workers.alive'));
  // After a refresh the process is still alive (its lease held).
  await page.getByRole('button', { name: t('workers.refresh'), exact: true }).click();
  await expect(row.locator('.badge')).toHaveText(t('workers.alive'));
  // The top bar keeps every section on one line.
  for (const link of await page.locator('.topbar nav a, .topbar .brand, .topbar button').all()) {
    expect((await link.boundingBox())!.height).toBeLessThanOrEqual(34);
  }
  // The whole row fits the page.
  const box = await page.locator('table.workers').boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(page.viewportSize()!.width);
  await screenshot(page, `${lang()}-workers`);
});
