import { expect, test } from './fixtures';
import { createNodes, deleteCreatedNodes, hydrated, instancesOf, screenshot, snapshot, unique, waitForState } from './helpers';
import { lang, t, tx } from './i18n';

const made: string[] = [];
test.afterEach(async ({ request }) => {
  await deleteCreatedNodes(request);
  while (made.length) await request.delete(`/api/v1/nodes/${made.pop()}`);
});

/** A label of the node form, in the page's language. */
function field(page: import('@playwright/test').Page, key: string) {
  return page.getByLabel(t(`tasks.form.${key}`), { exact: true });
}

async function createInTheForm(
  page: import('@playwright/test').Page,
  name: string,
  extra: { upstream?: string; command?: string; screenshot?: string } = {},
) {
  await page.goto('/tasks/new');
  await hydrated(page);
  await expect(page.locator('h1')).toHaveText(t('tasks.form.title_new'));
  await field(page, 'name').fill(name);
  await field(page, 'workflow').fill('ui_made');
  await field(page, 'command').fill(extra.command ?? 'echo testing ${bizdate}');
  await field(page, 'schedule').fill('30 1 * * *');
  await expect(page.locator('#node-schedule + .hint')).toHaveText(t('tasks.schedule.daily', { time: '01:30' }));
  if (extra.upstream) await field(page, 'upstream').fill(extra.upstream);
  if (extra.screenshot) await screenshot(page, extra.screenshot);
  await page.getByRole('button', { name: t('tasks.form.create'), exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/tasks/${name}$`));
  made.push(name);
}

test('nodes are created in the UI, and a cycle is refused next to the field', async ({ page }) => {
  const prefix = unique('ui_node');
  await createInTheForm(page, `${prefix}_first`, { screenshot: `${lang()}-node-form` });
  await expect(page.locator('h1')).toContainText(`${prefix}_first`);
  await expect(page.locator('.properties')).toContainText(t('tasks.schedule.daily', { time: '01:30' }));
  await createInTheForm(page, `${prefix}_second`, { upstream: `${prefix}_first` });
  await expect(page.locator('.node-links').first()).toContainText(`${prefix}_first`);

  // Make the first depend on the second: a cycle, refused with the path, nothing saved.
  await page.goto(`/tasks/${prefix}_first/edit`);
  await hydrated(page);
  await expect(page.locator('h1')).toHaveText(t('tasks.form.title_edit'));
  await field(page, 'upstream').fill(`${prefix}_second`);
  await page.getByRole('button', { name: t('common.button.save'), exact: true }).click();
  await expect(page.locator('.field-error[data-field="upstream"]')).toHaveText(
    t('errors.node.cycle', { path: `${prefix}_first → ${prefix}_second → ${prefix}_first` }),
  );
  await expect(page).toHaveURL(/\/edit$/);
  // A bad schedule is refused at its own field.
  await field(page, 'upstream').fill('');
  await field(page, 'schedule').fill('0 25 * * *');
  await page.getByRole('button', { name: t('common.button.save'), exact: true }).click();
  await expect(page.locator('.field-error[data-field="schedule"]')).toHaveText(
    tx('errors.node.bad_schedule', { node: `${prefix}_first`, schedule: '0 25 * * *' }),
  );

  // The task list shows both, and the workflow graph draws the edge.
  await page.goto('/tasks?workflow=ui_made');
  await hydrated(page);
  await expect(page.locator(`table.nodes tr[data-node="${prefix}_second"]`)).toBeVisible();
  await expect(page.locator(`svg.definitions g[data-node="${prefix}_first"]`)).toBeVisible();
  await expect(page.locator('h1')).toHaveText(t('tasks.list.title'));
  await expect(page.getByRole('link', { name: t('tasks.list.new_node') })).toBeVisible();
  await screenshot(page, `${lang()}-tasks`);

  // The audit trail shows who made the nodes, with their fields.
  await page.goto(`/audit?action=node.create&subject=node:${prefix}_second`);
  await hydrated(page);
  const entry = page.locator(`table.audit tbody tr[data-subject="node:${prefix}_second"]`);
  await expect(entry).toHaveCount(1);
  await expect(entry.locator('li[data-field="upstream"] ins')).toHaveText(`${prefix}_first`);
  await expect(entry.locator('li[data-field="schedule"] ins')).toHaveText('30 1 * * *');
  await expect(entry.locator('td').nth(2)).toHaveText(t('audit.action.node_create'));
  await screenshot(page, `${lang()}-audit-definitions`);
});

test('a test run starts from the node and its link shows the smoke-test result', async ({ page }) => {
  const name = unique('ui_test');
  await createInTheForm(page, name);
  await page.locator('[data-node-action="test"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel(t('actions.test.bizdate'), { exact: true }).fill('2026-01-05');
  await dialog.locator('[data-confirm="test"]').click();
  await expect(dialog).toContainText(t('actions.test.started_singular', { count: 1 }));
  await dialog.getByRole('link', { name: t('actions.test.see_result'), exact: true }).click();
  await expect(page).toHaveURL(/\/test\?state=any&job=\d+/);
  await hydrated(page);
  const row = page.locator(`table.instances tbody tr[data-node="${name}"]`);
  await expect(row).toHaveAttribute('data-state', 'success', { timeout: 20_000 });
  await expect(row).toContainText('2026-01-05');
});

test('a backfill of a node and a checked descendant runs and its progress bar reaches done', async ({ page }) => {
  const prefix = unique('ui_bf');
  await createInTheForm(page, `${prefix}_up`, { command: 'sleep 0.2' });
  await createInTheForm(page, `${prefix}_down`, { upstream: `${prefix}_up`, command: 'sleep 0.2' });
  await createInTheForm(page, `${prefix}_side`, { upstream: `${prefix}_up` });
  await page.goto(`/tasks/${prefix}_up`);
  await hydrated(page);
  await page.locator('[data-node-action="backfill"]').click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('[data-scope="downstream"]').check();
  await dialog.locator(`.check-row[data-node="${prefix}_down"] input`).check();
  await dialog.getByLabel(t('actions.backfill.from'), { exact: true }).fill('2026-02-01');
  await dialog.getByLabel(t('actions.backfill.to'), { exact: true }).fill('2026-02-03');
  await dialog.locator('[data-confirm="preview"]').click();
  await expect(dialog.locator('.preview')).toContainText(tx('actions.backfill.preview_summary', { instances: 6, dates: 3 }));
  await dialog.locator('[data-confirm="backfill"]').click();
  await expect(dialog).toContainText(tx('actions.backfill.started', { count: 6 }));
  await dialog.getByRole('link', { name: t('actions.backfill.see_result'), exact: true }).click();
  await expect(page).toHaveURL(/\/backfill\?state=any&job=\d+/);
  await hydrated(page);
  const job = page.locator('.job.active');
  await expect(job).toHaveAttribute('data-complete', 'true', { timeout: 30_000 });
  await expect(job.locator('.progress-text')).toHaveText(t('instances.jobs.progress', { done: 6, failed: 0, total: 6 }));
  await expect(page.locator('table.instances tbody tr')).toHaveCount(6);
  await screenshot(page, `${lang()}-backfill`);
});

test('a node that depends on its previous cycle: set in the form, shown, and explained while it waits', async ({ page, request }) => {
  const prefix = unique('ui_prev');
  // The form: a name that is no node is refused at the field; "self" is saved and shown.
  await createInTheForm(page, `${prefix}_form`);
  await page.goto(`/tasks/${prefix}_form/edit`);
  await hydrated(page);
  await field(page, 'depends_on_previous').fill(`${prefix}_ghost`);
  await page.getByRole('button', { name: t('common.button.save'), exact: true }).click();
  await expect(page.locator('.field-error[data-field="depends_on_previous"]')).toHaveText(
    t('errors.node.unknown_previous', { node: `${prefix}_form`, name: `${prefix}_ghost` }),
  );
  await field(page, 'depends_on_previous').fill('self');
  await screenshot(page, `${lang()}-node-form-previous`);
  await page.getByRole('button', { name: t('common.button.save'), exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/tasks/${prefix}_form$`));
  await expect(page.locator('dd[data-field="depends_on_previous"]')).toHaveText(t('tasks.node.previous_self'));

  // Its first day fails: the second waits for it, and says so.
  const node = `${prefix}_daily`;
  await createNodes(request, [
    { name: node, owner: 'admin', command: 'test ${bizdate} != 20201201', schedule: '0 1 * * *', depends_on_previous: 'self' },
  ]);
  await snapshot(request, '2020-12-02');
  await waitForState(request, node, 'failed');
  await snapshot(request, '2020-12-03');
  const [second, first] = await instancesOf(request, node);
  expect(first.state).toBe('failed');
  expect(second.state).toBe('not_run');
  await page.goto(`/instances/${second.id}`);
  await hydrated(page);
  const holding = tx('detail.waiting.node_of', { node, day: '2020-12-02' });
  await expect(page.locator('aside.why')).toContainText(holding);
  await screenshot(page, `${lang()}-why-previous-cycle`);

  // The flow view draws the previous cycle, marked with its run date.
  await page.goto(`/instances/${second.id}/flow`);
  await hydrated(page);
  await expect(page.locator('svg.flow g.fnode')).toHaveCount(2);
  await expect(page.locator(`svg.flow g.fnode.other-cycle[data-id="${first.id}"]`)).toContainText(`12-02 ${node}`.slice(0, 11));
  await screenshot(page, `${lang()}-flow-previous-cycle`);
});

test('a node page shows its definition history, compares two versions and rolls back to one', async ({ page, request }) => {
  const name = unique('ui_versions');
  await createInTheForm(page, name, { command: 'echo first' });
  // Two more versions: a new command, then a new schedule.
  for (const change of [{ command: 'echo second', schedule: '30 1 * * *' }, { command: 'echo second', schedule: '45 2 * * *' }]) {
    const response = await request.put(`/api/v1/nodes/${name}`, { data: { workflow: 'ui_made', ...change } });
    expect(response.status(), await response.text()).toBe(200);
  }
  await page.goto(`/tasks/${name}`);
  await hydrated(page);
  await expect(page.locator('dd[data-field="version"]')).toHaveText('v3');
  const history = page.locator('.node-history');
  await expect(history.locator('table.versions tbody tr')).toHaveCount(3);
  await expect(history.locator('tr[data-version="3"]')).toContainText(t('tasks.history.current'));
  await expect(history.locator('tr[data-version="1"]')).toContainText('admin');
  // By default the last change: v2 → v3, the schedule only.
  await expect(history.locator('h3')).toHaveText(t('tasks.history.diff_title', { from: 2, to: 3 }));
  await expect(history.locator('table.version-diff tbody tr')).toHaveCount(1);
  await expect(history.locator('table.version-diff tr[data-field="schedule"] del')).toHaveText('30 1 * * *');
  await expect(history.locator('table.version-diff tr[data-field="schedule"] ins')).toHaveText('45 2 * * *');
  // v1 against v3: the command and the schedule.
  await history.getByLabel(t('tasks.history.compare_from', { version: 1 }), { exact: true }).check();
  await expect(history.locator('h3')).toHaveText(t('tasks.history.diff_title', { from: 1, to: 3 }));
  await expect(history.locator('table.version-diff tbody tr')).toHaveCount(2);
  await expect(history.locator('table.version-diff tr[data-field="command"] del')).toHaveText('echo first');
  await expect(history.locator('table.version-diff tr[data-field="command"] ins')).toHaveText('echo second');
  await screenshot(page, `${lang()}-node-history`);

  // Back to v1: a fourth version with v1's fields.
  await history.locator('button[data-rollback="1"]').click();
  await expect(page.locator('.toast')).toContainText(t('tasks.history.rolled_back', { version: 1, now: 4 }));
  await expect(page.locator('dd[data-field="version"]')).toHaveText('v4');
  await expect(history.locator('table.versions tbody tr')).toHaveCount(4);
  await expect(page.locator('pre.command')).toHaveText('echo first');
  const node = await (await request.get(`/api/v1/nodes/${name}`)).json();
  expect(node.schedule).toBe('30 1 * * *');
  expect(node.version).toBe(4);
});
