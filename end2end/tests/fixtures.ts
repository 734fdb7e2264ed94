import { test as base, expect, request as requests } from '@playwright/test';
import * as fs from 'node:fs';
import { adminToken } from '../playwright.config';

/**
 * The tests' `request`: the REST API as the demo administrator, with an API token (scripts'
 * way in; no cookie, so no CSRF token needed). Pages start signed in as the same person.
 */
export const test = base.extend({
  request: async ({ baseURL }, use) => {
    const token = fs.readFileSync(adminToken, 'utf8').trim();
    const context = await requests.newContext({
      baseURL,
      extraHTTPHeaders: { Authorization: `Bearer ${token}` },
    });
    await use(context);
    await context.dispose();
  },
});

export { expect };
