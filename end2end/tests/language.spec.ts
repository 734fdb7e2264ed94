import { Browser, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { hydrated, screenshot, unique } from './helpers';
import { Lang, lang, t } from './i18n';

/** The other language than the project's. */
function other(language: Lang): Lang {
  return language === 'en' ? 'zh-CN' : 'en';
}

/** A browser of its own, signed in nobody, whose language settings ask for `language`. */
async function freshBrowser(browser: Browser, language: Lang): Promise<Page> {
  const context = await browser.newContext({
    storageState: { cookies: [], origins: [] },
    locale: language === 'zh-CN' ? 'zh-CN' : 'en-US',
  });
  return context.newPage();
}

/** Console errors of a page (a hydration mismatch shows up there). */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}

async function signInHere(page: Page, name: string, password: string, language: Lang): Promise<void> {
  await page.getByLabel(t('people.field.user_name', {}, language)).fill(name);
  await page.getByLabel(t('people.field.password', {}, language)).fill(password);
  await page.getByRole('button', { name: t('people.login.sign_in', {}, language) }).click();
  await hydrated(page);
  await expect(page.locator('.topbar .who .name')).toHaveText(name);
}

test('the first visit speaks the browser language; the switch on the login page is kept for the account', async ({ browser, request }) => {
  const first = lang();
  const chosen = other(first);
  const name = unique('lang').toLowerCase();
  const added = await request.post('/api/v1/users', { data: { name, password: 'language-test', role: 'developer' } });
  expect(added.status(), await added.text()).toBe(201);

  // First visit: the browser's Accept-Language decides, server-rendered and hydrated alike.
  const page = await freshBrowser(browser, first);
  const errors = consoleErrors(page);
  const answer = await page.goto('/login');
  expect(answer?.status()).toBe(200);
  await hydrated(page);
  await expect(page.locator('html')).toHaveAttribute('lang', first);
  await expect(page.getByRole('button', { name: t('people.login.sign_in', {}, first) })).toBeVisible();

  // The switch in the header: the page comes back in the other language.
  await page.locator(`form.language button[lang="${chosen}"]`).click();
  await expect(page.locator('html')).toHaveAttribute('lang', chosen);
  await hydrated(page);
  await expect(page.locator('form.login h1')).toHaveText(t('people.login.title', {}, chosen));
  await expect(page.locator(`form.language button[lang="${chosen}"]`)).toHaveAttribute('aria-pressed', 'true');
  if (chosen === 'zh-CN') await screenshot(page, 'zh-CN-login');

  // Signing in keeps it, and so does a reload.
  await signInHere(page, name, 'language-test', chosen);
  await expect(page.locator('html')).toHaveAttribute('lang', chosen);
  await expect(page.locator('.topbar nav')).toContainText(t('common.nav.tasks', {}, chosen));
  await page.reload();
  await hydrated(page);
  await expect(page.locator('html')).toHaveAttribute('lang', chosen);
  await expect(page.locator('h1')).toHaveText(t('common.nav.cycle', {}, chosen));
  expect(errors, 'no console errors (no hydration mismatch)').toEqual([]);
  await page.context().close();

  // Another browser, whose settings ask for the first language: the account's choice wins once
  // signed in.
  const elsewhere = await freshBrowser(browser, first);
  await elsewhere.goto('/login');
  await hydrated(elsewhere);
  await expect(elsewhere.locator('html')).toHaveAttribute('lang', first);
  await signInHere(elsewhere, name, 'language-test', first);
  await expect(elsewhere.locator('html')).toHaveAttribute('lang', chosen);
  await expect(elsewhere.locator('h1')).toHaveText(t('common.nav.cycle', {}, chosen));
  await elsewhere.context().close();
});

test('?lang= on any page shows it in that language, then in-app navigation stays in it', async ({ browser, request }) => {
  // Someone of their own: the choice is remembered for the account.
  const name = unique('query').toLowerCase();
  const added = await request.post('/api/v1/users', { data: { name, password: 'language-test', role: 'viewer' } });
  expect(added.status(), await added.text()).toBe(201);
  const page = await freshBrowser(browser, lang());
  await page.goto('/login');
  await signInHere(page, name, 'language-test', lang());
  const errors = consoleErrors(page);
  for (const language of [other(lang()), lang()]) {
    await page.goto(`/tasks?lang=${language}`);
    await hydrated(page);
    await expect(page.locator('html')).toHaveAttribute('lang', language);
    await expect(page.locator('h1')).toHaveText(t('tasks.list.title', {}, language));
    await page.locator('.topbar nav').getByRole('link', { name: t('common.nav.audit', {}, language) }).click();
    await expect(page).toHaveURL(/\/audit/);
    await expect(page.locator('h1')).toHaveText(t('audit.title', {}, language));
    // Remembered: the next page without ?lang= speaks it too.
    await page.goto('/tasks');
    await expect(page.locator('html')).toHaveAttribute('lang', language);
  }
  expect(errors).toEqual([]);
  await page.context().close();
});
