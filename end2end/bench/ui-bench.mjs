// Seeds ~1M instances and a 2,000-node DAG through the REST API, then times the UI in chromium.
import { chromium } from 'playwright-core';

const base = process.argv[2];
// Signed in as the administrator scripts/bench-ui.sh made: the session cookie and its CSRF token.
const login = await fetch(`${base}/api/v1/login`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'bench', password: 'bench-password' }),
});
if (!login.ok) throw new Error(`login: ${login.status} ${await login.text()}`);
const session = login.headers.get('set-cookie').split(';')[0];
const csrf = (await login.json()).csrf_token;
const get = (path) => fetch(base + path, { headers: { cookie: session } });
const post = async (path, body, type = 'application/json') => {
  const headers = { 'content-type': type, cookie: session, 'x-csrf-token': csrf };
  const response = await fetch(base + path, { method: 'POST', headers, body });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
};

// 1,000 hourly nodes, and a 2,000-node tree under one root (each node depends on an earlier one).
let toml = '[[resource_groups]]\nname = "default"\nslots = 8\n';
for (let i = 0; i < 1000; i++) {
  toml += `[[nodes]]\nname = "hourly_${i}"\nworkflow = "load_${i % 20}"\nowner = "owner_${i % 50}"\ncommand = "true"\nschedule = "0 * * * *"\n`;
}
for (let i = 0; i < 2000; i++) {
  const upstream = i === 0 ? '' : `"dag_${Math.floor((i - 1) / 3)}"`;
  toml += `[[nodes]]\nname = "dag_${i}"\nworkflow = "dag"\nowner = "owner_1"\ncommand = "true"\nschedule = "0 2 * * *"\nupstream = [${upstream}]\n`;
}
await post('/api/v1/import', toml, 'application/toml');
let total = 0;
const seeding = Date.now();
for (let day = 1; total < 1_000_000; day++) {
  const date = new Date(Date.UTC(2031, 0, day)).toISOString().slice(0, 10);
  total += (await post('/api/v1/snapshots', JSON.stringify({ run_date: date }))).created;
}
console.log(`seeded ${total} instances in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
const roots = await (await get('/api/v1/instances?node=dag_0&run_date=2031-01-01')).json();
const root = roots.items.find((i) => i.node === 'dag_0').id;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const [name, value] = session.split('=');
await context.addCookies([{ name, value, url: base }]);
const page = await context.newPage();
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function timed(url, ready) {
  const runs = [];
  for (let i = 0; i < 5; i++) {
    await page.goto('about:blank');
    const start = Date.now();
    await page.goto(base + url);
    await page.waitForSelector('body[data-hydrated=true]');
    await ready();
    runs.push(Date.now() - start);
  }
  return median(runs);
}
const rows = () => page.waitForSelector('table.instances tbody tr');
const list = await timed('/cycle?state=any', rows);
const filtered = await timed('/cycle?state=waiting_time&owner=owner_7', rows);
const flow = await timed(`/instances/${root}/flow`, () =>
  page.waitForFunction(() => document.querySelectorAll('svg.flow g.fnode').length >= 2000));
const nodes = await page.locator('svg.flow g.fnode').count();
console.log(`usable instance list, ${total} instances, no filter:      ${list} ms (target <= 1000 ms)`);
console.log(`usable instance list, filtered by state and owner:        ${filtered} ms`);
console.log(`rendered flow view with ${nodes} nodes:                     ${flow} ms (target <= 1000 ms)`);
await browser.close();
