import { expect, test } from './fixtures';
import * as fs from 'node:fs';
import { createNodes, deleteCreatedNodes, hydrated, instancesOf, row, screenshot, snapshot, unique, waitForState } from './helpers';
import { lang, state, t } from './i18n';

/** The first line of a report: its clauses joined as the UI joins them, with the full stop. */
function summary(...clauses: string[]): string {
  return clauses.join(t('actions.report.clause_separator')) + t('actions.report.full_stop');
}

test.afterEach(async ({ request }) => deleteCreatedNodes(request));

test('batch repair rerun previews its changes and refusals, then reports per instance', async ({ page, request }) => {
  const prefix = unique('e2e_br');
  const fixed = `/tmp/${prefix}_fixed`;
  await createNodes(request, [
    { name: `${prefix}_left`, owner: 'admin', command: `test -f ${fixed}`, schedule: '0 1 * * *' },
    { name: `${prefix}_right`, owner: 'admin', command: `test -f ${fixed}`, schedule: '0 1 * * *' },
    { name: `${prefix}_fine`, owner: 'admin', command: 'true', schedule: '0 1 * * *' },
    { name: `${prefix}_child`, owner: 'admin', command: 'true', schedule: '0 2 * * *', upstream: [`${prefix}_left`, `${prefix}_right`] },
  ]);
  await snapshot(request, '2020-06-02');
  await waitForState(request, `${prefix}_left`, 'failed');
  await waitForState(request, `${prefix}_right`, 'failed');
  await waitForState(request, `${prefix}_fine`, 'success');

  await page.goto(`/cycle?state=any&node=${prefix}`);
  await hydrated(page);
  for (const node of ['left', 'right', 'fine']) {
    await row(page, `${prefix}_${node}`).getByRole('checkbox').check();
  }
  await expect(page.locator('.batch-bar')).toContainText(t('instances.batch.selected', { count: 3 }));
  await screenshot(page, `${lang()}-batch-bar`);
  fs.writeFileSync(fixed, '');
  await page.locator('[data-batch="rerun"]').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog.locator('.summary')).toHaveText(
    summary(
      t('actions.report.will_change_plural', { count: 2 }),
      t('actions.report.refused_count', { count: 1 }),
      t('actions.report.downstream_count', { count: 1 }),
    ),
  );
  await expect(dialog.locator('.refusals')).toContainText(t('errors.rules.not_failed', { state: state('success') }));
  await expect(dialog.locator('.downstream')).toContainText(`${prefix}_child`);
  await screenshot(page, `${lang()}-batch-dialog`);
  await dialog.locator('[data-confirm="batch"]').click();
  await expect(dialog.locator('.batch-results')).toContainText(
    [t('actions.report.changed_plural', { count: 2 }), t('actions.report.refused_count', { count: 1 })].join(t('actions.report.clause_separator')),
  );
  await dialog.getByRole('button', { name: t('actions.batch.done'), exact: true }).click();
  await expect(row(page, `${prefix}_child`)).toHaveAttribute('data-state', 'success', { timeout: 20_000 });
  expect((await instancesOf(request, `${prefix}_child`))[0].attempt).toBe(1);
});

test('batch kill is offered to an administrator and kills all matching the filter', async ({ page, request }) => {
  const prefix = unique('e2e_bk');
  const nodes = [1, 2, 3].map((i) => ({ name: `${prefix}_sleep${i}`, owner: 'admin', command: 'sleep 600', schedule: '0 1 * * *' }));
  await createNodes(request, nodes);
  await snapshot(request, '2020-07-02');
  for (const node of nodes) {
    await waitForState(request, node.name, 'running');
  }
  // Load one row per page so "select all matching the filter" is needed.
  await page.goto(`/cycle?state=running&node=${prefix}`);
  await hydrated(page);
  await expect(page.locator('table.instances tbody tr')).toHaveCount(3);
  await page.getByRole('checkbox', { name: t('instances.table.select_all'), exact: true }).check();
  await expect(page.locator('[data-batch="kill"]')).toBeVisible();
  await page.locator('[data-batch="kill"]').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(t('actions.report.will_change_plural', { count: 3 }));
  await dialog.locator('[data-confirm="batch"]').click();
  await expect(dialog.locator('.batch-results')).toContainText(t('actions.report.changed_plural', { count: 3 }), { timeout: 20_000 });
  for (const node of nodes) {
    await waitForState(request, node.name, 'stopped');
  }
});
