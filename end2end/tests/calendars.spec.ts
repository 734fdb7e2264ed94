import { expect, test } from './fixtures';
import { createNodes, deleteCreatedNodes, hydrated, instancesOf, row, screenshot, snapshot, unique, waitForState } from './helpers';
import { lang, t, tx } from './i18n';

test.afterEach(async ({ request }) => {
  await deleteCreatedNodes(request);
});

test('a business calendar is made in the UI, a node follows it, and its holiday is a dry run', async ({ page, request }) => {
  const calendar = unique('ui_cal');
  const node = `${calendar}_node`;
  await page.goto('/calendars');
  await hydrated(page);
  await expect(page.locator('h1')).toHaveText(t('tasks.calendars.title'));
  await page.getByRole('button', { name: t('tasks.calendars.add'), exact: true }).click();
  await page.getByLabel(t('tasks.calendars.form.name'), { exact: true }).fill(calendar);
  const holidays = page.getByLabel(t('tasks.calendars.form.holidays'), { exact: true });
  // A line that is no date is refused at the field, and nothing is saved.
  await holidays.fill('2020-12-02\n2020-12-40');
  await page.getByRole('button', { name: t('tasks.calendars.form.create'), exact: true }).click();
  await expect(page.locator('.field-error[data-field="holidays"]')).toContainText('2020-12-40');
  expect((await request.get(`/api/v1/calendars/${calendar}`)).status()).toBe(404);
  await holidays.fill('2020-12-24..2020-12-26\n2020-12-02');
  await screenshot(page, `${lang()}-calendar-form`);
  await page.getByRole('button', { name: t('tasks.calendars.form.create'), exact: true }).click();
  const listed = page.locator(`tr[data-calendar="${calendar}"]`);
  await expect(listed.locator('.holiday')).toHaveText(['2020-12-02', '2020-12-24 – 2020-12-26']);
  await screenshot(page, `${lang()}-calendars`);

  // A node follows it, chosen in the node form.
  await createNodes(request, [{ name: node, owner: 'admin', command: "printf 'it%s\\n' ran", schedule: '0 1 * * *' }]);
  await page.goto(`/tasks/${node}/edit`);
  await hydrated(page);
  await page.getByLabel(t('tasks.form.calendar'), { exact: true }).selectOption(calendar);
  await page.getByRole('button', { name: t('common.button.save'), exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/tasks/${node}$`));
  await expect(page.locator('dd[data-field="calendar"]')).toHaveText(calendar);

  // On its holiday the instance is a dry run: it succeeds without running the command, and
  // says so in the list, on its page and in its log.
  await snapshot(request, '2020-12-02');
  const done = await waitForState(request, node, 'success');
  const [instance] = await instancesOf(request, node);
  expect((instance as unknown as { dry_run: boolean }).dry_run).toBe(true);
  await page.goto(`/cycle?state=any&node=${node}`);
  await hydrated(page);
  await expect(row(page, node).locator('.badge.dry-run')).toHaveText(t('common.state.dry_run_badge'));
  await screenshot(page, `${lang()}-dry-run-list`);
  await page.goto(`/instances/${done.id}`);
  await hydrated(page);
  await expect(page.locator('.head-actions .badge.dry-run')).toBeVisible();
  await expect(page.locator('.properties')).toContainText(t('detail.dry_run_yes'));
  await page.goto(`/instances/${done.id}/log`);
  await hydrated(page);
  await expect(page.locator('pre')).toContainText('dry run: 2020-12-02 is a holiday');
  // The command would print "itran"; its text (in the dry-run line) does not contain that.
  await expect(page.locator('pre')).not.toContainText('itran');

  // A calendar that a node follows cannot be deleted: the refusal names the node.
  await page.goto('/calendars');
  await hydrated(page);
  await listed.getByRole('button', { name: t('tasks.calendars.delete'), exact: true }).click();
  await listed.locator('[data-action="confirm-delete"]').click();
  await expect(page.locator('.toast')).toContainText(tx('errors.calendar.in_use', { calendar }));
  await expect(listed).toBeVisible();
  // Without the node it goes.
  await request.delete(`/api/v1/nodes/${node}`);
  await page.reload();
  await hydrated(page);
  await listed.getByRole('button', { name: t('tasks.calendars.delete'), exact: true }).click();
  await listed.locator('[data-action="confirm-delete"]').click();
  await expect(listed).toHaveCount(0);
  expect((await request.get(`/api/v1/calendars/${calendar}`)).status()).toBe(404);
});
