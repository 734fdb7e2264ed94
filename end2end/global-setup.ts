import { FullConfig, request } from '@playwright/test';
import * as fs from 'node:fs';
import { adminState, adminToken } from './playwright.config';

/**
 * Signs in as the demo administrator once: the browser tests start from that session (its
 * cookie in `adminState`), the API calls of the tests use an API token of the same person.
 * Then pauses the demo's nodes, so that the snapshots the tests make do not run them too.
 */
export default async function globalSetup(config: FullConfig): Promise<void> {
  const baseURL = config.projects[0].use.baseURL;
  const session = await request.newContext({ baseURL });
  const login = await session.post('/api/v1/login', { data: { username: 'admin', password: 'demo-admin' } });
  if (!login.ok()) throw new Error(`the demo administrator cannot sign in: ${await login.text()}`);
  const csrf: string = (await login.json()).csrf_token;
  await session.storageState({ path: adminState });
  const created = await session.post('/api/v1/tokens', {
    data: { name: 'end2end' },
    headers: { 'X-CSRF-Token': csrf },
  });
  if (!created.ok()) throw new Error(`no API token: ${await created.text()}`);
  fs.writeFileSync(adminToken, (await created.json()).token);

  const nodes = (await (await session.get('/api/v1/nodes?limit=500')).json()).items as Array<Record<string, unknown>>;
  for (const node of nodes.filter((n) => !n.paused)) {
    // A node as the API returns it, minus what is not part of its definition.
    const spec = { ...node, paused: true };
    for (const key of ['id', 'version', 'created_at', 'updated_at']) delete spec[key];
    const put = await session.put(`/api/v1/nodes/${node.name}`, {
      data: spec,
      headers: { 'X-CSRF-Token': csrf },
    });
    if (!put.ok()) throw new Error(`cannot pause ${node.name}: ${await put.text()}`);
  }
  await session.dispose();
}
