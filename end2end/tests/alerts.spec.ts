import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { expect, test } from './fixtures';
import { createNodes, deleteCreatedNodes, hydrated, instancesOf, screenshot, snapshot, unique, waitForState } from './helpers';
import { lang, t } from './i18n';

test.afterEach(async ({ request }) => deleteCreatedNodes(request));

/** A webhook receiver on 127.0.0.1: what it was sent, as parsed JSON. */
async function receiver(): Promise<{ url: string; got: Array<Record<string, any>>; close: () => void }> {
  const got: Array<Record<string, any>> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      got.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => server.close() };
}

test('an alert rule made in the form is refused at its field, fires to a webhook and shows as delivered', async ({ page, request }) => {
  const hook = await receiver();
  const prefix = unique('e2e_alert');
  const node = `${prefix}_bad`;
  await createNodes(request, [{ name: node, owner: 'admin', command: 'exit 3', schedule: '0 1 * * *' }]);

  await page.goto('/');
  await hydrated(page);
  await page.locator('.topbar nav').getByRole('link', { name: t('common.nav.alerts'), exact: true }).click();
  await expect(page).toHaveURL(/\/alerts$/);
  await expect(page.getByRole('heading', { name: t('alerts.title'), exact: true })).toBeVisible();
  await page.getByRole('button', { name: t('alerts.new_rule'), exact: true }).click();
  const form = page.locator('form.rule-form');
  await form.getByLabel(t('alerts.form.name'), { exact: true }).fill(`${prefix} fails`);
  await form.getByLabel(t('alerts.form.node'), { exact: true }).fill(node);
  const channels = form.getByLabel(t('alerts.form.channels'), { exact: true });
  // Not a web address: refused next to the channels, in the page's language.
  await channels.fill('ftp://files.example.com/drop');
  await form.getByRole('button', { name: t('alerts.form.create'), exact: true }).click();
  await expect(form.locator('.field-error[data-field="channels"]')).toHaveText(
    t('errors.alert.bad_webhook', { value: 'ftp://files.example.com/drop' }),
  );
  // "Not finished by" asks for its time, and says so at that field.
  await form.getByLabel(t('alerts.form.event'), { exact: true }).selectOption('not_finished_by');
  await channels.fill(hook.url);
  await form.getByRole('button', { name: t('alerts.form.create'), exact: true }).click();
  await expect(form.locator('.field-error[data-field="at"]')).toBeVisible();
  await screenshot(page, `${lang()}-alert-form`);
  await form.getByLabel(t('alerts.form.event'), { exact: true }).selectOption('failed');
  await form.getByRole('button', { name: t('alerts.form.create'), exact: true }).click();
  const rule = page.locator(`tr[data-rule="${prefix} fails"]`);
  await expect(rule).toBeVisible();
  await expect(rule).toContainText(t('alerts.event.failed'));
  await expect(rule).toContainText(hook.url);
  await expect(form).toHaveCount(0);

  // The node fails: the receiver is told, and the history shows it delivered.
  await snapshot(request, '2020-10-02');
  const failed = await waitForState(request, node, 'failed');
  await expect.poll(() => hook.got.length, { timeout: 20_000 }).toBe(1);
  expect(hook.got[0].instance.node).toBe(node);
  expect(hook.got[0].event).toBe('failed');
  const fired = page.locator(`table.alert-history tr[data-event="failed"]`).filter({ hasText: node });
  await expect(fired).toBeVisible({ timeout: 15_000 });
  await expect(fired.locator('.badge').first()).toHaveText(t('alerts.status.delivered'), { timeout: 15_000 });
  await expect(fired.getByRole('link', { name: `#${failed.id}` })).toHaveAttribute('href', `/instances/${failed.id}`);
  const box = await page.locator('table.alert-history').boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(page.viewportSize()!.width);
  // Nothing, the top bar with every section included, is wider than the window.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(page.viewportSize()!.width);
  await screenshot(page, `${lang()}-alerts`);

  // Deleted after a confirmation; what it fired stays.
  await rule.getByRole('button', { name: t('alerts.delete'), exact: true }).click();
  await rule.locator('[data-action="confirm-delete"]').click();
  await expect(rule).toHaveCount(0);
  await expect(fired).toBeVisible();
  hook.close();
});

test('a baseline shows its predicted finish and status, and its critical path on the flow view', async ({ page, request }) => {
  const prefix = unique('e2e_base');
  await createNodes(request, [
    { name: `${prefix}_load`, owner: 'admin', command: 'true', schedule: '0 1 * * *' },
    { name: `${prefix}_report`, owner: 'admin', command: 'true', schedule: '0 1 * * *', upstream: [`${prefix}_load`] },
    { name: `${prefix}_broken`, owner: 'admin', command: 'exit 1', schedule: '0 1 * * *' },
  ]);
  await snapshot(request, '2020-11-02');
  await waitForState(request, `${prefix}_report`, 'success');
  await waitForState(request, `${prefix}_broken`, 'failed');
  const late = await request.post('/api/v1/baselines', {
    data: { name: `${prefix}_late`, nodes: [`${prefix}_broken`], commit_by: '06:00', margin_mins: 0 },
  });
  expect(late.status(), await late.text()).toBe(201);

  await page.goto('/baselines?run_date=2020-11-02');
  await hydrated(page);
  await expect(page.getByRole('heading', { name: t('alerts.baselines.title'), exact: true })).toBeVisible();
  await page.getByRole('button', { name: t('alerts.baselines.add'), exact: true }).click();
  const form = page.locator('form.baseline-form');
  await form.getByLabel(t('alerts.baselines.form.name'), { exact: true }).fill(`${prefix}_daily`);
  await form.getByLabel(t('alerts.baselines.form.nodes'), { exact: true }).fill(`${prefix}_report`);
  const commit = form.getByLabel(t('alerts.baselines.form.commit_by'), { exact: true });
  await commit.fill('8am');
  await form.getByRole('button', { name: t('alerts.baselines.form.create'), exact: true }).click();
  await expect(form.locator('.field-error[data-field="commit_by"]')).toBeVisible();
  await commit.fill('08:00');
  await form.getByRole('button', { name: t('alerts.baselines.form.create'), exact: true }).click();

  const daily = page.locator(`tr[data-baseline="${prefix}_daily"]`);
  await expect(daily.locator('[data-status]')).toHaveAttribute('data-status', 'done');
  await expect(daily.locator('[data-status]')).toHaveText(t('alerts.baselines.state.done'));
  await expect(daily.locator('td.critical-path')).toContainText(`${prefix}_load → ${prefix}_report`);
  const broken = page.locator(`tr[data-baseline="${prefix}_late"]`);
  await expect(broken.locator('[data-status]')).toHaveAttribute('data-status', 'late');
  const box = await page.locator('table.baselines').boundingBox();
  expect(box!.x + box!.width).toBeLessThanOrEqual(page.viewportSize()!.width);
  await screenshot(page, `${lang()}-baselines`);

  // The critical path, highlighted where it runs.
  const [load] = await instancesOf(request, `${prefix}_load`);
  const [report] = await instancesOf(request, `${prefix}_report`);
  await daily.getByRole('link', { name: t('alerts.baselines.show_flow'), exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/instances/${report.id}/flow\\?highlight=${load.id},${report.id}$`));
  await expect(page.locator('.fnode.critical')).toHaveCount(2);
  await expect(page.locator('.fedge.critical')).toHaveCount(1);
  await screenshot(page, `${lang()}-critical-path`);

  for (const name of [`${prefix}_daily`, `${prefix}_late`]) {
    expect((await request.delete(`/api/v1/baselines/${name}`)).status()).toBe(204);
  }
});
