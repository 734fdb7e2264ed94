import { expect, test } from './fixtures';
import * as fs from 'node:fs';
import { createNodes, deleteCreatedNodes, hydrated, row, screenshot, snapshot, unique, waitForState } from './helpers';
import { lang, state, t, tx } from './i18n';

/** "waiting for time, waiting for resources or running": states listed as the UI lists them. */
function either(...states: string[]): string {
  const words = states.map(state);
  return t('common.list.or', { init: words.slice(0, -1).join(t('common.list.separator')), last: words[words.length - 1] });
}

test.afterEach(async ({ request }) => deleteCreatedNodes(request));

test('right-click operations: a disabled one explains itself, rerun and set success resume the downstream', async ({ page, request }) => {
  const prefix = unique('e2e_ops');
  const flaky = `/tmp/${prefix}_fixed`;
  await createNodes(request, [
    { name: `${prefix}_up`, owner: 'admin', command: `test -f ${flaky}`, schedule: '0 1 * * *' },
    { name: `${prefix}_down`, owner: 'admin', command: 'true', schedule: '0 2 * * *', upstream: [`${prefix}_up`] },
    { name: `${prefix}_other`, owner: 'admin', command: 'exit 3', schedule: '0 1 * * *' },
    { name: `${prefix}_other_down`, owner: 'admin', command: 'true', schedule: '0 2 * * *', upstream: [`${prefix}_other`] },
  ]);
  await snapshot(request, '2020-03-02');
  await waitForState(request, `${prefix}_up`, 'failed');
  await waitForState(request, `${prefix}_other`, 'failed');

  await page.goto(`/cycle?state=any&node=${prefix}`);
  await hydrated(page);
  const up = row(page, `${prefix}_up`);
  await expect(up).toHaveAttribute('data-state', 'failed');

  // Kill is not allowed on a failed instance: visible, disabled, with the rule's reason.
  await up.click({ button: 'right' });
  const menu = page.getByRole('menu');
  await expect(menu).toBeVisible();
  const kill = menu.locator('[data-op="kill"]');
  await expect(kill).toHaveAttribute('aria-disabled', 'true');
  const killReason = t('errors.rules.wrong_state', {
    operation: t('common.op.kill'),
    allowed: either('waiting_time', 'waiting_resources', 'running'),
    state: state('failed'),
  });
  await expect(kill).toHaveAttribute('title', killReason);
  await expect(kill.locator('.reason')).toHaveText(killReason);
  await kill.click({ force: true });
  await expect(page.getByRole('dialog')).toHaveCount(0);

  // Rerun and resume: the preview names the downstream that will run again; then it does.
  fs.writeFileSync(flaky, '');
  await menu.locator('[data-op="rerun"]').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(t('actions.report.will_change_singular', { count: 1 }));
  await expect(dialog.locator('.downstream')).toContainText(`${prefix}_down`);
  await screenshot(page, `${lang()}-rerun-dialog`);
  await dialog.locator('[data-confirm="rerun"]').click();
  await expect(page.locator('.toast')).toContainText(tx('actions.operation.done', { operation: t('common.op.rerun'), node: `${prefix}_up` }));
  // Live: the rows change without a reload.
  await expect(up).toHaveAttribute('data-state', 'success', { timeout: 20_000 });
  await expect(row(page, `${prefix}_down`)).toHaveAttribute('data-state', 'success', { timeout: 20_000 });

  // Set success and resume, through the keyboard-reachable actions button.
  await row(page, `${prefix}_other`).getByRole('button', { name: tx('actions.menu.button_label', { node: `${prefix}_other` }) }).click();
  await page.getByRole('menu').locator('[data-op="set_success"]').click();
  await page.getByRole('dialog').locator('[data-confirm="set_success"]').click();
  await expect(row(page, `${prefix}_other`)).toHaveAttribute('data-state', 'success', { timeout: 20_000 });
  await expect(row(page, `${prefix}_other_down`)).toHaveAttribute('data-state', 'success', { timeout: 20_000 });
});

test('pause and resume, and kill of a running command', async ({ page, request }) => {
  const prefix = unique('e2e_pause');
  await createNodes(request, [
    { name: `${prefix}_later`, owner: 'admin', command: 'true', schedule: '0 1 * * *' },
    { name: `${prefix}_sleep`, owner: 'admin', command: 'sleep 600', schedule: '0 1 * * *' },
  ]);
  await snapshot(request, '2031-04-02');
  await snapshot(request, '2020-04-02');
  await waitForState(request, `${prefix}_sleep`, 'running');

  await page.goto(`/cycle?state=any&node=${prefix}&run_date=2031-04-02`);
  await hydrated(page);
  const later = row(page, `${prefix}_later`);
  await later.click({ button: 'right' });
  await page.getByRole('menu').locator('[data-op="resume"]').hover();
  await expect(page.getByRole('menu').locator('[data-op="resume"]')).toHaveAttribute('aria-disabled', 'true');
  await page.getByRole('menu').locator('[data-op="pause"]').click();
  await page.getByRole('dialog').locator('[data-confirm="pause"]').click();
  await expect(later.locator('.badge.paused')).toBeVisible({ timeout: 10_000 });
  await later.click({ button: 'right' });
  await page.getByRole('menu').locator('[data-op="resume"]').click();
  await page.getByRole('dialog').locator('[data-confirm="resume"]').click();
  await expect(later.locator('.badge.paused')).toHaveCount(0, { timeout: 10_000 });

  await page.goto(`/cycle?state=running&node=${prefix}`);
  await hydrated(page);
  const sleeping = row(page, `${prefix}_sleep`);
  await sleeping.click({ button: 'right' });
  await page.getByRole('menu').locator('[data-op="kill"]').click();
  // The preview: it becomes manually stopped.
  await expect(page.getByRole('dialog').locator('.changes')).toContainText(state('stopped'));
  await page.getByRole('dialog').locator('[data-confirm="kill"]').click();
  await expect(page.locator('.toast')).toContainText(tx('actions.operation.done', { operation: t('common.op.kill'), node: `${prefix}_sleep` }));
  const killed = await waitForState(request, `${prefix}_sleep`, 'stopped');
  expect(killed.attempt).toBe(1);
});

test('the checked-downstream dialog refuses an ineligible selection, then reruns in order', async ({ page, request }) => {
  const prefix = unique('e2e_rd');
  await createNodes(request, [
    { name: `${prefix}_a`, owner: 'admin', command: 'true', schedule: '0 1 * * *' },
    { name: `${prefix}_b`, owner: 'admin', command: 'true', schedule: '0 2 * * *', upstream: [`${prefix}_a`] },
    { name: `${prefix}_c`, owner: 'admin', command: 'sleep 600', schedule: '0 3 * * *', upstream: [`${prefix}_b`] },
  ]);
  await snapshot(request, '2020-05-02');
  await waitForState(request, `${prefix}_b`, 'success');
  const c = await waitForState(request, `${prefix}_c`, 'running');

  await page.goto(`/cycle?state=any&node=${prefix}`);
  await hydrated(page);
  await row(page, `${prefix}_a`).click({ button: 'right' });
  await page.getByRole('menu').locator('[data-op="rerun_downstream"]').click();
  const dialog = page.getByRole('dialog');
  const checklist = dialog.locator('.check-row');
  await expect(checklist).toHaveCount(3);
  // The running one starts unchecked; checking it makes the selection ineligible.
  const running = dialog.locator(`.check-row[data-instance-id="${c.id}"] input`);
  await expect(running).not.toBeChecked();
  await running.check();
  // The refusal names the checked instance that cannot run, by its node.
  await expect(dialog.locator('.selection-error')).toHaveText(
    t('errors.rules.ineligible', { message: t('errors.rules.ineligible_selection'), ids: `${prefix}_c #${c.id}` }),
  );
  await expect(dialog.locator('[data-confirm="rerun_downstream"]')).toBeDisabled();
  await running.uncheck();
  await expect(dialog.locator('.selection-error')).toHaveCount(0);
  await dialog.locator('[data-confirm="rerun_downstream"]').click();
  await expect(page.locator('.toast')).toContainText(t('actions.rerun_downstream.started', { count: 2 }));
  await expect.poll(async () => {
    const r = await request.get(`/api/v1/instances?node=${prefix}_b`);
    return (await r.json()).items[0].attempt;
  }, { timeout: 20_000 }).toBe(2);
  await request.post(`/api/v1/instances/${c.id}/kill`);
});
