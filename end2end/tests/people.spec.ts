import { Browser, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { createNodes, deleteCreatedNodes, hydrated, row, screenshot, snapshot, unique, waitForState } from './helpers';

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
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
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
  await page.getByLabel('User name').fill('vera');
  await page.getByLabel('Password').fill('not her password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('wrong user name or password');
  await expect(page.getByLabel('User name')).toHaveValue('vera');
  await screenshot(page, 'login');
  await page.getByLabel('Password').fill('demo-vera');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/backfill\?state=any$/);
  await page.context().close();
});

test('a viewer sees everything and can operate on nothing', async ({ browser, request }) => {
  const prefix = unique('e2e_viewer');
  await failures(request, prefix);
  const page = await stranger(browser);
  await signIn(page, `/cycle?state=any&node=${prefix}`, 'vera', 'demo-vera');
  await expect(page.locator('.topbar .who .role')).toHaveText('viewer');
  await expect(page.locator('table.instances tbody tr')).toHaveCount(2);

  // Every operation is visible but disabled, with the reason.
  await row(page, `${prefix}_alices`).click({ button: 'right' });
  const menu = page.getByRole('menu');
  for (const op of ['rerun', 'set_success', 'pause', 'rerun_downstream']) {
    await expect(menu.locator(`[data-op="${op}"]`)).toHaveAttribute('aria-disabled', 'true');
    await expect(menu.locator(`[data-op="${op}"]`)).toHaveAttribute('title', 'vera is a viewer and can only look');
  }
  await page.locator('.menu-backdrop').click();
  // Selecting rows offers no batch.
  await page.getByRole('checkbox', { name: 'Select all loaded rows' }).check();
  await expect(page.locator('.batch-bar')).toContainText('Viewers can look but not operate.');
  await expect(page.locator('[data-batch]')).toHaveCount(0);
  await screenshot(page, 'viewer');
  // No way to create or test nodes, and no People section.
  await page.goto('/tasks');
  await hydrated(page);
  await expect(page.getByRole('link', { name: '+ New node' })).toHaveCount(0);
  await expect(page.locator('.topbar nav')).not.toContainText('People');
  await page.context().close();
});

test('a developer operates the nodes they own and only those', async ({ browser, request }) => {
  const prefix = unique('e2e_dev');
  await failures(request, prefix);
  const page = await stranger(browser);
  await signIn(page, `/cycle?state=any&node=${prefix}`, 'alice', 'demo-alice');
  await expect(page.locator('.topbar .who .role')).toHaveText('developer');

  // Bob's instance: disabled, saying why.
  await row(page, `${prefix}_bobs`).click({ button: 'right' });
  const rerunBobs = page.getByRole('menu').locator('[data-op="rerun"]');
  await expect(rerunBobs).toHaveAttribute('aria-disabled', 'true');
  await expect(rerunBobs).toHaveAttribute('title', `alice may only operate on instances of nodes they own; this one belongs to bob`);
  await page.locator('.menu-backdrop').click();

  // Her own: set success and resume works.
  await row(page, `${prefix}_alices`).click({ button: 'right' });
  const setSuccess = page.getByRole('menu').locator('[data-op="set_success"]');
  await expect(setSuccess).not.toHaveAttribute('aria-disabled', 'true');
  await setSuccess.click();
  await page.getByRole('dialog').locator('[data-confirm="set_success"]').click();
  await expect(row(page, `${prefix}_alices`)).toHaveAttribute('data-state', 'success', { timeout: 20_000 });
  await expect(row(page, `${prefix}_bobs`)).toHaveAttribute('data-state', 'failed');

  // Batches: repair rerun yes, batch kill no.
  await page.getByRole('checkbox', { name: 'Select all loaded rows' }).check();
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
  await page.getByRole('checkbox', { name: 'Select all loaded rows' }).check();
  await page.locator('[data-batch="kill"]').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('1 instance will change');
  await dialog.locator('[data-confirm="batch"]').click();
  await expect(dialog.locator('.batch-results')).toContainText('1 instance changed', { timeout: 20_000 });
  await dialog.getByRole('button', { name: 'Done' }).click();
  await waitForState(request, `${prefix}_sleep`, 'stopped');

  // People: add someone, see them listed.
  const name = unique('newbie').toLowerCase();
  await page.locator('.topbar nav').getByRole('link', { name: 'People' }).click();
  await expect(page).toHaveURL(/\/users$/);
  await hydrated(page);
  await page.getByLabel('User name').fill(name);
  await page.locator('#user-role').selectOption('viewer');
  await page.getByLabel('Password').fill('newbie-password');
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await expect(page.locator(`tr[data-user="${name}"]`)).toContainText('viewer');
  await screenshot(page, 'people');

  // The audit trail: the batch kill, with its per-instance result.
  await page.goto('/audit?action=batch_kill&actor=admin');
  await hydrated(page);
  const entry = page.locator('table.audit tbody tr[data-audit]').first();
  await expect(entry).toHaveAttribute('data-outcome', 'ok');
  await entry.getByRole('button', { name: 'Per instance' }).click();
  await expect(page.locator('.audit-results')).toContainText(': ok');
  await screenshot(page, 'audit');

  // Signing out: back to the login page, and the pages are closed again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/cycle');
  await expect(page).toHaveURL(/\/login\?next=%2Fcycle$/);
  await page.context().close();
});

test('an API token is made once on the account page and works for scripts', async ({ page, playwright, baseURL }) => {
  await page.goto('/account');
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill('nightly-report');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = page.locator('code.secret');
  await expect(secret).toHaveText(/^ns_[0-9a-f]{64}$/);
  const token = (await secret.textContent())!;
  await expect(page.locator('table.tokens')).toContainText('nightly-report');
  await screenshot(page, 'account');
  const script = await playwright.request.newContext({ baseURL, extraHTTPHeaders: { Authorization: `Bearer ${token}` } });
  expect((await (await script.get('/api/v1/me')).json()).name).toBe('admin');
  // Revoked, it stops working.
  await page.locator('table.tokens tr', { hasText: 'nightly-report' }).getByRole('button', { name: /Revoke/ }).click();
  await expect(page.locator('table.tokens')).not.toContainText('nightly-report');
  expect((await script.get('/api/v1/me')).status()).toBe(401);
  await script.dispose();
});
