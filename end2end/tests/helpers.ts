import { APIRequestContext, Page, expect } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A name no other test uses, so tests never see each other's data. */
export function unique(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Creates nodes through the REST API (the database, not a page fixture). */
export async function createNodes(request: APIRequestContext, nodes: object[]): Promise<void> {
  for (const node of nodes) {
    const response = await request.post('/api/v1/nodes', { data: node });
    expect(response.status(), await response.text()).toBe(201);
  }
}

export async function snapshot(request: APIRequestContext, runDate: string): Promise<number> {
  const response = await request.post('/api/v1/snapshots', { data: { run_date: runDate } });
  expect(response.ok(), await response.text()).toBeTruthy();
  return (await response.json()).created;
}

/** Waits until the WASM bundle has hydrated the page (the app marks <body>). */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** Saves a screenshot for people to look at (end2end/screenshots, not committed). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = path.join(__dirname, '..', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
