import { Browser, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { createNodes, deleteCreatedNodes, hydrated, row, screenshot, snapshot, unique, waitForState } from './helpers';
import { lang, t } from './i18n';

test.afterEach(async ({ request }) => deleteCreatedNodes(request));

/** A browser of its own, signed in nobody. */
async function stranger(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  return context.newPage();
}

/** Signs in through the login page, starting from `path` (which sends a stranger there). */
async function signIn(page: Page, path: string, name: string, password: string): Promise<void> {
  await page.goto(path);
  await expect(page).toHaveURL(/\/login\?next=/);
  await page.getByLabel(t('people.field.user_name'), { exact: true }).fill(name);
  await page.getByLabel(t('people.field.password'), { exact: true }).fill(password);
  await page.getByRole('button', { name: t('people.login.sign_in'), exact: true }).click();
  await hydrated(page);
  await expect(page.locator('.topbar .who .name')).toHaveText(name);
}

/** Failed instances of a node of alice's and one of bob's. */
async function failures(request: import('@playwright/test').APIRequestContext, prefix: string) {
  await createNodes(request, [
    { name: `${prefix}_alices`, owner: 'alice', command: 'exit 1', schedule: '0 1 * * *' },
    { name: `${prefix}_bobs`, owner: 'bob', command: 'exit 1', schedule: '0 1 * * *' },
  ]);
  await snapshot(request, '2020-09-02');
  await waitForState(request, `${prefix}_alices`, 'failed');
  await waitForState(request, `${prefix}_bobs`, 'failed');
}

test('a stranger is sent to the login page; a wrong password is refused there', async ({ browser }) => {
  const page = await stranger(browser);
  await page.goto('/backfill?state=any');
  await expect(page).toHaveURL(/\/login\?next=%2Fbackfill%3Fstate%3Dany$/);
  await expect(page.locator('.topbar nav')).toHaveCount(0);
  // The demo accounts are listed for a newcomer.
  await expect(page.locator('.login-hints')).toContainText('demo-alice');
  await expect(page.locator('html')).toHaveAttribute('lang', lang());
  const userName = page.getByLabel(t('people.field.user_name'), { exact: true });
  const password = page.getByLabel(t('people.field.password'), { exact: true });
  const signIn = page.getByRole('button', { name: t('people.login.sign_in'), exact: true });
  await userName.fill('vera');
  await password.fill('not her password');
  await signIn.click();
  await expect(page.getByRole('alert')).toHaveText(t('errors.wrong_password'));
  await expect(userName).toHaveValue('vera');
  await screenshot(page, `${lang()}-login-refused`);
  await password.fill('demo-vera');
  await signIn.click();
  await expect(page).toHaveURL(/\/backfill\?state=any$/);
  await page.context().close();
});

test('a viewer sees everything and can operate on nothing', async ({ browser, request }) => {
  const prefix = unique('e2e_viewer');
  await failures(request, prefix);
  const page = await stranger(browser);
  await signIn(page, `/cycle?state=any&node=${prefix}`, 'vera', 'demo-vera');
  await expect(page.locator('.topbar .who .role')).toHaveText(t('common.role.viewer'));
  await expect(page.locator('table.instances tbody tr')).toHaveCount(2);

  // What a viewer can never do is offered nowhere: the menu holds only the two ways to look.
  await row(page, `${prefix}_alices`).click({ button: 'right' });
  const menu = page.getByRole('menu');
  await expect(menu).toBeVisible();
  for (const op of ['kill', 'rerun', 'set_success', 'rerun_downstream', 'pause', 'resume']) {
    await expect(menu.locator(`[data-op="${op}"]`), `a viewer is not offered ${op}`).toHaveCount(0);
  }
  for (const op of ['view_log', 'view_properties']) {
    const entry = menu.locator(`[data-op="${op}"]`);
    await expect(entry, `a viewer may ${op}`).toHaveCount(1);
    await expect(entry).toHaveText(t(`common.op.${op}`));
    await expect(entry).not.toHaveAttribute('aria-disabled', 'true');
  }
  await expect(menu.locator('[data-op]')).toHaveCount(2);
  // Closed with Escape: a click on the backdrop's middle may land on the menu itself.
  await page.keyboard.press('Escape');
  await expect(page.getByRole('menu')).toHaveCount(0);
  await expect(menu).toHaveCount(0);
  // Selecting rows offers no batch.
  await page.getByRole('checkbox', { name: t('instances.table.select_all'), exact: true }).check();
  await expect(page.locator('.batch-bar')).toContainText(t('instances.batch.viewer_note'));
  await expect(page.locator('[data-batch]')).toHaveCount(0);
  await screenshot(page, `${lang()}-viewer`);
  // No way to create or test nodes, and no People section.
  await page.goto('/tasks');
  await hydrated(page);
  await expect(page.locator('h1')).toHaveText(t('tasks.list.title'));
  await expect(page.getByRole('link', { name: t('tasks.list.new_node') })).toHaveCount(0);
  await expect(page.locator('.topbar nav a[href="/users"]')).toHaveCount(0);
  await expect(page.locator('.topbar nav')).not.toContainText(t('common.nav.people'));
  await page.context().close();
});

test('a developer operates the nodes they own and only those', async ({ browser, request }) => {
  const prefix = unique('e2e_dev');
  await failures(request, prefix);
  const page = await stranger(browser);
  await signIn(page, `/cycle?state=any&node=${prefix}`, 'alice', 'demo-alice');
  await expect(page.locator('.topbar .who .role')).toHaveText(t('common.role.developer'));

  // Bob's instance: disabled, saying why.
  await row(page, `${prefix}_bobs`).click({ button: 'right' });
  const rerunBobs = page.getByRole('menu').locator('[data-op="rerun"]');
  await expect(rerunBobs).toHaveAttribute('aria-disabled', 'true');
  await expect(rerunBobs).toHaveAttribute('title', t('errors.rules.not_owner_instance', { actor: 'alice', owner: 'bob' }));
  // Closed with Escape: a click on the backdrop's middle may land on the menu itself.
  await page.keyboard.press('Escape');
  await expect(page.getByRole('menu')).toHaveCount(0);

  // Her own: set success and resume works.
  await row(page, `${prefix}_alices`).click({ button: 'right' });
  const setSuccess = page.getByRole('menu').locator('[data-op="set_success"]');
  await expect(setSuccess).not.toHaveAttribute('aria-disabled', 'true');
  await setSuccess.click();
  await page.getByRole('dialog').locator('[data-confirm="set_success"]').click();
  await expect(row(page, `${prefix}_alices`)).toHaveAttribute('data-state', 'success', { timeout: 20_000 });
  await expect(row(page, `${prefix}_bobs`)).toHaveAttribute('data-state', 'failed');

  // Batches: repair rerun yes, batch kill no.
  await page.getByRole('checkbox', { name: t('instances.table.select_all'), exact: true }).check();
  await expect(page.locator('[data-batch="rerun"]')).toBeVisible();
  await expect(page.locator('[data-batch="kill"]')).toHaveCount(0);

  // The audit trail names her.
  await page.goto(`/audit?actor=alice&action=set_success`);
  await hydrated(page);
  await expect(page.locator('table.audit tbody tr[data-audit]').first()).toContainText('alice');
  await page.context().close();
});

test('an administrator kills in bulk, manages people and reads the audit; signing out ends it', async ({ browser, request }) => {
  const prefix = unique('e2e_admin');
  await createNodes(request, [
    { name: `${prefix}_sleep`, owner: 'bob', command: 'sleep 600', schedule: '0 1 * * *' },
  ]);
  await snapshot(request, '2020-09-03');
  await waitForState(request, `${prefix}_sleep`, 'running');
  const page = await stranger(browser);
  await signIn(page, `/cycle?state=running&node=${prefix}`, 'admin', 'demo-admin');
  await expect(page.locator('.topbar .who .role')).toHaveText(t('common.role.admin'));
  await page.getByRole('checkbox', { name: t('instances.table.select_all'), exact: true }).check();
  await page.locator('[data-batch="kill"]').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(t('actions.report.will_change_singular', { count: 1 }));
  await dialog.locator('[data-confirm="batch"]').click();
  await expect(dialog.locator('.batch-results')).toContainText(t('actions.report.changed_singular', { count: 1 }), { timeout: 20_000 });
  await dialog.getByRole('button', { name: t('actions.batch.done'), exact: true }).click();
  await waitForState(request, `${prefix}_sleep`, 'stopped');

  // People: add someone, see them listed.
  const name = unique('newbie').toLowerCase();
  await page.locator('.topbar nav').getByRole('link', { name: t('common.nav.people'), exact: true }).click();
  await expect(page).toHaveURL(/\/users$/);
  await hydrated(page);
  await expect(page.locator('h1')).toHaveText(t('common.nav.people'));
  await page.getByLabel(t('people.field.user_name'), { exact: true }).fill(name);
  await page.locator('#user-role').selectOption('viewer');
  await page.getByLabel(t('people.field.password'), { exact: true }).fill('newbie-password');
  await page.getByRole('button', { name: t('people.users.add'), exact: true }).click();
  await expect(page.locator('.toast')).toContainText(t('people.users.added', { name, role: t('common.role.viewer') }));
  const added = page.locator(`tr[data-user="${name}"]`);
  await expect(added).toContainText(t('common.role.viewer'));
  await expect(added.getByRole('combobox', { name: t('people.users.role_of', { name }) })).toHaveValue('viewer');
  await screenshot(page, `${lang()}-people`);

  // The audit trail: the batch kill, with its per-instance result.
  await page.goto('/audit?action=batch_kill&actor=admin');
  await hydrated(page);
  const entry = page.locator('table.audit tbody tr[data-audit]').first();
  await expect(entry).toHaveAttribute('data-outcome', 'ok');
  await expect(page.locator('h1')).toHaveText(t('audit.title'));
  await entry.getByRole('button', { name: t('audit.per_instance'), exact: true }).click();
  await expect(page.locator('.audit-results')).toContainText(`${t('audit.result_separator')}${t('audit.outcome.ok')}`);
  await screenshot(page, `${lang()}-audit`);

  // Signing out: back to the login page, and the pages are closed again.
  await page.getByRole('button', { name: t('common.nav.sign_out'), exact: true }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/cycle');
  await expect(page).toHaveURL(/\/login\?next=%2Fcycle$/);
  await page.context().close();
});

test('an API token is made once on the account page and works for scripts', async ({ page, playwright, baseURL }) => {
  await page.goto('/account');
  await hydrated(page);
  await expect(page.locator('h1')).toHaveText(t('people.account.title'));
  await page.getByLabel(t('people.field.name'), { exact: true }).fill('nightly-report');
  await page.getByRole('button', { name: t('people.tokens.create'), exact: true }).click();
  const secret = page.locator('code.secret');
  await expect(secret).toHaveText(/^ns_[0-9a-f]{64}$/);
  const token = (await secret.textContent())!;
  await expect(page.locator('table.tokens')).toContainText('nightly-report');
  await screenshot(page, `${lang()}-account`);
  const script = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
  expect((await (await script.get('/api/v1/me')).json()).name).toBe('admin');
  // Revoked, it stops working.
  await page.locator('table.tokens tr', { hasText: 'nightly-report' }).getByRole('button', { name: t('people.tokens.revoke_label', { name: 'nightly-report' }), exact: true }).click();
  await expect(page.locator('table.tokens')).not.toContainText('nightly-report');
  expect((await script.get('/api/v1/me')).status()).toBe(401);
  await script.dispose();
});
