import { APIRequestContext, Locator, Page, expect } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A name no other test uses, so tests never see each other's data. */
export function unique(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Nodes created by the current test, deleted again afterwards (newest first). */
const created: string[] = [];

/** Creates nodes through the REST API (the database, not a page fixture). */
export async function createNodes(request: APIRequestContext, nodes: object[]): Promise<void> {
  for (const node of nodes) {
    const response = await request.post('/api/v1/nodes', { data: node });
    expect(response.status(), await response.text()).toBe(201);
    created.push((node as { name: string }).name);
  }
}

/** Deletes this test's nodes, so later snapshots of other dates do not run them again. */
export async function deleteCreatedNodes(request: APIRequestContext): Promise<void> {
  while (created.length > 0) {
    const name = created.pop()!;
    await request.delete(`/api/v1/nodes/${name}`);
  }
}

export async function snapshot(request: APIRequestContext, runDate: string): Promise<number> {
  const response = await request.post('/api/v1/snapshots', { data: { run_date: runDate } });
  expect(response.ok(), await response.text()).toBeTruthy();
  return (await response.json()).created;
}

export interface Instance {
  id: number;
  node: string;
  state: string;
  paused: boolean;
  attempt: number;
}

/** The instances of one node (exact name). */
export async function instancesOf(request: APIRequestContext, node: string): Promise<Instance[]> {
  const response = await request.get(`/api/v1/instances?node=${node}&limit=500`);
  const items: Instance[] = (await response.json()).items;
  return items.filter((i) => i.node === node);
}

/** Waits until the node's (first) instance is in `state`, and returns it. */
export async function waitForState(request: APIRequestContext, node: string, state: string): Promise<Instance> {
  let found: Instance | undefined;
  await expect
    .poll(async () => {
      found = (await instancesOf(request, node))[0];
      return found?.state;
    }, { timeout: 20_000 })
    .toBe(state);
  return found!;
}

/** Waits until the WASM bundle has hydrated the page (the app marks <body>). */
export async function hydrated(page: Page): Promise<void> {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** The list row of a node. */
export function row(page: Page, node: string): Locator {
  return page.locator(`table.instances tbody tr[data-node="${node}"]`);
}

/** Saves a screenshot for people to look at (end2end/screenshots, not committed). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = path.join(__dirname, '..', 'screenshots');
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}
