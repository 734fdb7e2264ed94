/**
 * UI defects as tests: each of these fails against the build they were written for and passes
 * once the defect is fixed. Where a fix has to add something to the page, the test states the
 * contract (ids, classes, data-* attributes) the fix must provide.
 *
 * The UI is shown in English or Chinese, and these tests run in both: they select by ids,
 * classes, data-* attributes and roles, never by visible words.
 */
import { APIRequestContext, Browser, Locator, Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { Instance, createNodes, deleteCreatedNodes, hydrated, instancesOf, row, screenshot, snapshot, unique, waitForState } from './helpers';
import { lang } from './i18n';

test.afterEach(async ({ request }) => deleteCreatedNodes(request));

// ── small helpers ─────────────────────────────────────────────────────────────────────────────

/** A page in a browser context of its own, signed in as `name` (through the API, which shares
 *  the context's cookies: the login form's words depend on the language). */
async function signedIn(browser: Browser, name: string, password: string): Promise<Page> {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  const login = await context.request.post('/api/v1/login', { data: { username: name, password } });
  expect(login.ok(), await login.text()).toBeTruthy();
  return context.newPage();
}

/** A browser context of its own, signed in nobody. */
async function stranger(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ storageState: { cookies: [], origins: [] } });
  return context.newPage();
}

/** Every instance of `node` (exact name) is finished and there are `count` of them. */
async function waitForAll(request: APIRequestContext, node: string, state: string, count: number): Promise<Instance[]> {
  let found: Instance[] = [];
  await expect
    .poll(async () => {
      found = await instancesOf(request, node);
      return found.filter((i) => i.state === state).length;
    }, { timeout: 30_000 })
    .toBe(count);
  return found;
}

/** The one open menu (instance or node menu). */
function menu(page: Page): Locator {
  return page.getByRole('menu');
}

/** Where the element is drawn, in CSS pixels of the page. */
async function box(locator: Locator): Promise<{ x: number; y: number; width: number; height: number }> {
  await expect(locator).toBeVisible();
  const b = await locator.boundingBox();
  expect(b, 'the element has a box').not.toBeNull();
  return b!;
}

/** How far apart two boxes are (0 when they touch or overlap). */
function distance(a: { x: number; y: number; width: number; height: number }, b: { x: number; y: number; width: number; height: number }): number {
  const dx = Math.max(b.x - (a.x + a.width), a.x - (b.x + b.width), 0);
  const dy = Math.max(b.y - (a.y + a.height), a.y - (b.y + b.height), 0);
  return Math.hypot(dx, dy);
}

/**
 * Checks every disabled entry of the open menu: it holds its reason whole in `.reason`, not cut
 * off (no hidden overflow, inside the menu). Soft: every entry is reported.
 */
async function expectReasonsShownWhole(page: Page, what: string): Promise<void> {
  const open = menu(page);
  await expect(open).toBeVisible();
  const disabled = open.locator('[aria-disabled="true"]');
  const count = await disabled.count();
  expect(count, `${what}: the menu has disabled entries`).toBeGreaterThan(0);
  for (let i = 0; i < count; i++) {
    const entry = disabled.nth(i);
    const name = (await entry.getAttribute('data-op')) ?? (await entry.getAttribute('data-node-op')) ?? `entry ${i}`;
    const reason = entry.locator('.reason');
    await expect.soft(reason, `${what}: disabled "${name}" shows its reason in .reason`).toHaveCount(1);
    if ((await reason.count()) !== 1) continue;
    const measured = await reason.evaluate((el) => {
      const menuBox = el.closest('[role="menu"]')!.getBoundingClientRect();
      const r = el.getBoundingClientRect();
      return {
        text: (el.textContent ?? '').trim(),
        scrollWidth: el.scrollWidth,
        clientWidth: el.clientWidth,
        scrollHeight: el.scrollHeight,
        clientHeight: el.clientHeight,
        inside:
          r.width > 0 &&
          r.height > 0 &&
          r.left >= menuBox.left - 1 &&
          r.right <= menuBox.right + 1 &&
          r.top >= menuBox.top - 1 &&
          r.bottom <= menuBox.bottom + 1,
      };
    });
    expect.soft(measured.text.length, `${what}: disabled "${name}" has a reason`).toBeGreaterThan(0);
    // Where the entry also has a tooltip, it is the same reason: the text shown is all of it.
    const title = await entry.getAttribute('title');
    if (title) expect.soft(measured.text, `${what}: "${name}" shows the whole reason`).toBe(title.trim());
    expect.soft(measured.scrollWidth, `${what}: "${name}" reason is not cut off at the side ("${measured.text}")`).toBeLessThanOrEqual(measured.clientWidth + 1);
    expect.soft(measured.scrollHeight, `${what}: "${name}" reason is not cut off at the bottom`).toBeLessThanOrEqual(measured.clientHeight + 1);
    expect.soft(measured.inside, `${what}: "${name}" reason lies inside the menu`).toBe(true);
  }
}

// ── the defects ───────────────────────────────────────────────────────────────────────────────

test('defect 1: empty filter boxes stay empty after a counter, "everything" or a state chip, and on /tasks after picking a workflow', async ({ page }) => {
  const values = (ids: string[]) => Promise.all(ids.map((id) => page.locator(id).inputValue()));
  const boxes = ['#filter-node', '#filter-owner', '#filter-workflow'];
  const expectEmpty = async (how: string) => {
    await expect.soft.poll(() => values(boxes), { message: `${boxes.join(', ')} after ${how}` }).toEqual(['', '', '']);
  };

  // /cycle: a counter of the statistics bar (keeps the other, empty, filters).
  await page.goto('/cycle?state=any');
  await hydrated(page);
  await page.locator('[data-stat="failed"]').click();
  await expect(page).toHaveURL(/[?&]state=failed,stopped(&|$)/);
  await expect(page.locator('li.active [data-stat="failed"]')).toHaveCount(1);
  await expectEmpty('a counter on /cycle');

  // /cycle: a state chip.
  await page.locator('.chips [data-state="running"]').click();
  await expect(page.locator('.chips [data-state="running"]')).toHaveAttribute('aria-pressed', 'true');
  await expectEmpty('a state chip on /cycle');

  // /cycle: the "everything" preset.
  await page.locator('.presets a.preset[href$="?state=any"]').click();
  await expect(page).toHaveURL(/\/cycle\?state=any$/);
  await expect(page.locator('.chips [data-state="running"]')).toHaveAttribute('aria-pressed', 'false');
  await expectEmpty('"everything" on /cycle');

  // /backfill: a state chip.
  await page.goto('/backfill?state=any');
  await hydrated(page);
  await page.locator('.chips [data-state="failed"]').click();
  await expect(page.locator('.chips [data-state="failed"]')).toHaveAttribute('aria-pressed', 'true');
  await expectEmpty('a state chip on /backfill');

  // /test: a counter.
  await page.goto('/test?state=any');
  await hydrated(page);
  await page.locator('[data-stat="success"]').click();
  await expect(page.locator('li.active [data-stat="success"]')).toHaveCount(1);
  await expectEmpty('a counter on /test');

  // /tasks: picking a workflow in its select.
  await page.goto('/tasks');
  await hydrated(page);
  await page.locator('#task-workflow').selectOption('sales');
  await expect(page).toHaveURL(/\/tasks\?workflow=sales$/);
  await expect(page.locator('svg.definitions')).toBeVisible();
  await expect.soft.poll(() => values(['#task-name', '#task-owner']), { message: '#task-name, #task-owner after picking a workflow' }).toEqual(['', '']);
});

test('defect 2: the duration chart draws its bars after in-app navigation to the detail page', async ({ page, request }) => {
  const prefix = unique('e2e_chart');
  const node = `${prefix}_hourly`;
  await createNodes(request, [{ name: node, owner: 'admin', command: 'sleep 0.1', schedule: '0 */4 * * *' }]);
  await snapshot(request, '2020-09-02');
  const runs = await waitForAll(request, node, 'success', 6);
  const bars = page.locator('svg.chart rect.bar');
  const drawn = async () => {
    const sizes = [];
    for (const bar of await bars.all()) {
      const b = await bar.boundingBox();
      sizes.push(b ? Math.min(b.width, b.height) : 0);
    }
    return sizes.length > 0 && sizes.every((s) => s > 0);
  };

  // A full page load draws them (so the chart and its selector are right).
  await page.goto(`/instances/${runs[0].id}`);
  await hydrated(page);
  await expect(bars).toHaveCount(6);
  await expect.poll(drawn, { message: 'bars drawn on a full page load' }).toBe(true);

  // From the list, by the instance id link: the same chart, drawn by the browser app.
  await page.goto(`/cycle?state=any&node=${node}`);
  await hydrated(page);
  const target = runs[runs.length - 1];
  await page.locator(`table.instances tbody tr[data-instance-id="${target.id}"] td.num a`).click();
  await expect(page).toHaveURL(new RegExp(`/instances/${target.id}$`));
  await expect(bars).toHaveCount(6);
  await expect.poll(drawn, { message: 'bars drawn after in-app navigation (width and height > 0)' }).toBe(true);
});

test('defect 3: the flow view keeps its zoom when a live update arrives', async ({ page, request }) => {
  const prefix = unique('e2e_zoom');
  await createNodes(request, [
    { name: `${prefix}_root`, owner: 'admin', command: 'true', schedule: '0 1 * * *' },
    { name: `${prefix}_mid`, owner: 'admin', command: 'true', schedule: '0 2 * * *', upstream: [`${prefix}_root`] },
    { name: `${prefix}_leaf`, owner: 'admin', command: 'true', schedule: '0 3 * * *', upstream: [`${prefix}_mid`] },
  ]);
  // In the future: they wait, so nothing changes unless we change it.
  await snapshot(request, '2031-05-02');
  const root = (await instancesOf(request, `${prefix}_root`))[0];
  const mid = (await instancesOf(request, `${prefix}_mid`))[0];

  await page.goto(`/instances/${root.id}/flow`);
  await hydrated(page);
  await expect(page.locator('svg.flow g.fnode')).toHaveCount(3);
  const content = page.locator('svg.flow g.flow-content');
  const fitted = await content.getAttribute('transform');

  // Zoom in with the wheel over the drawing.
  const frame = await box(page.locator('svg.flow'));
  await page.mouse.move(frame.x + frame.width / 2, frame.y + frame.height / 2);
  await page.mouse.wheel(0, -200);
  await expect.poll(() => content.getAttribute('transform')).not.toBe(fitted);
  const zoomed = await content.getAttribute('transform');

  // Someone pauses an instance of this flow: its box shows it, the zoom stays.
  const paused = await request.post(`/api/v1/instances/${mid.id}/pause`);
  expect(paused.ok(), await paused.text()).toBeTruthy();
  await expect(page.locator(`svg.flow g.fnode[data-id="${mid.id}"]`)).toHaveClass(/(^|\s)paused(\s|$)/, { timeout: 20_000 });
  expect(await content.getAttribute('transform'), 'the zoom and pan survive the live update').toBe(zoomed);
});

test('defect 4: Escape closes the node menu on /tasks, and the next click goes where it points', async ({ page, request }) => {
  const prefix = unique('e2e_esc');
  const node = `${prefix}_node`;
  await createNodes(request, [{ name: node, owner: 'admin', command: 'true', schedule: '0 1 * * *' }]);
  await page.goto(`/tasks?name=${node}`);
  await hydrated(page);
  const nodeRow = page.locator(`table.nodes tr[data-node="${node}"]`);
  const link = nodeRow.locator('td.node a');
  await expect(link).toBeVisible();

  await nodeRow.locator('td').nth(2).click({ button: 'right' });
  await expect(menu(page)).toBeVisible();
  await page.keyboard.press('Escape');
  await expect.soft(menu(page), 'Escape closes the node menu').toHaveCount(0);

  // A real click where the link is: the first one must follow it.
  const at = await box(link);
  await page.mouse.click(at.x + at.width / 2, at.y + at.height / 2);
  await expect(page, 'the first click after Escape follows the link').toHaveURL(new RegExp(`/tasks/${node}$`));
});

test('defect 5: the login page answers 200 without errors and does not listen to events while signed out', async ({ browser }) => {
  const page = await stranger(browser);
  const events: string[] = [];
  const errors: string[] = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/v1/events')) events.push(r.url());
  });
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));

  const response = await page.goto('/login');
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  expect.soft(response?.status(), 'the login page answers 200').toBe(200);
  expect.soft(events, 'no request to /api/v1/events while signed out').toEqual([]);
  expect.soft(errors, 'no console errors').toEqual([]);
  await page.context().close();
});

test('defect 6: disabled menu entries show their whole reason, in the instance and the node menu', async ({ browser, page, request }) => {
  const prefix = unique('e2e_why');
  const node = `${prefix}_admins`;
  await createNodes(request, [{ name: node, owner: 'admin', command: 'exit 1', schedule: '0 1 * * *' }]);
  await snapshot(request, '2020-11-02');
  await waitForState(request, node, 'failed');

  // The administrator: kill (and resume) are disabled for a failed instance.
  await page.goto(`/cycle?state=any&node=${node}`);
  await hydrated(page);
  await row(page, node).click({ button: 'right' });
  await expect(menu(page).locator('[data-op="kill"]')).toHaveAttribute('aria-disabled', 'true');
  await expectReasonsShownWhole(page, 'admin, instance menu');

  // A developer on the administrator's instance and node: disabled because she does not own it.
  const alice = await signedIn(browser, 'alice', 'demo-alice');
  await alice.goto(`/cycle?state=any&node=${node}`);
  await hydrated(alice);
  await row(alice, node).click({ button: 'right' });
  await expect(menu(alice).locator('[data-op="rerun"]')).toHaveAttribute('aria-disabled', 'true');
  await expectReasonsShownWhole(alice, 'alice, instance menu');
  await alice.keyboard.press('Escape');
  await expect(menu(alice)).toHaveCount(0);

  await alice.goto(`/tasks?name=${node}`);
  await hydrated(alice);
  await alice.locator(`table.nodes tr[data-node="${node}"] td`).nth(2).click({ button: 'right' });
  await expect(menu(alice).locator('[data-node-op="test"]')).toHaveAttribute('aria-disabled', 'true');
  await expectReasonsShownWhole(alice, 'alice, node menu');
  await alice.context().close();
});

test('defect 7: a viewer is offered only what a viewer can do', async ({ browser, request }) => {
  const prefix = unique('e2e_look');
  const node = `${prefix}_alices`;
  await createNodes(request, [{ name: node, owner: 'alice', command: 'exit 1', schedule: '0 1 * * *' }]);
  await snapshot(request, '2020-11-03');
  await waitForState(request, node, 'failed');

  const vera = await signedIn(browser, 'vera', 'demo-vera');
  await vera.goto(`/cycle?state=any&node=${node}`);
  await hydrated(vera);
  await row(vera, node).click({ button: 'right' });
  await expect(menu(vera)).toBeVisible();
  const ops = await menu(vera).locator('[data-op]').evaluateAll((els) => els.map((e) => e.getAttribute('data-op')).sort());
  expect.soft(ops, 'the instance menu of a viewer').toEqual(['view_log', 'view_properties']);
  await vera.keyboard.press('Escape');
  await expect(menu(vera)).toHaveCount(0);

  await vera.goto(`/tasks?name=${node}`);
  await hydrated(vera);
  await vera.locator(`table.nodes tr[data-node="${node}"] td`).nth(2).click({ button: 'right' });
  await expect(menu(vera)).toBeVisible();
  for (const action of ['test', 'backfill', 'edit', 'pause', 'delete']) {
    await expect
      .soft(menu(vera).locator(`[data-node-op="${action}"], [data-node-action="${action}"]`), `the node menu of a viewer offers no ${action}`)
      .toHaveCount(0);
  }
  await vera.context().close();
});

test('defect 8: rerun downstream previews how many will rerun and names the ineligible instance', async ({ page, request }) => {
  const prefix = unique('e2e_rdp');
  await createNodes(request, [
    { name: `${prefix}_a`, owner: 'admin', command: 'true', schedule: '0 1 * * *' },
    { name: `${prefix}_b`, owner: 'admin', command: 'true', schedule: '0 2 * * *', upstream: [`${prefix}_a`] },
    { name: `${prefix}_c`, owner: 'admin', command: 'sleep 600', schedule: '0 3 * * *', upstream: [`${prefix}_b`] },
  ]);
  await snapshot(request, '2020-05-03');
  const b = await waitForState(request, `${prefix}_b`, 'success');
  const c = await waitForState(request, `${prefix}_c`, 'running');
  try {
    await page.goto(`/cycle?state=any&node=${prefix}`);
    await hydrated(page);
    await row(page, `${prefix}_a`).click({ button: 'right' });
    await menu(page).locator('[data-op="rerun_downstream"]').click();
    const dialog = page.getByRole('dialog');
    await expect(dialog.locator('.check-row')).toHaveCount(3);

    // The preview: a and b are checked (c runs), so 2; unchecking b makes it 1.
    const preview = dialog.locator('.preview');
    await expect.soft(preview, 'the dialog shows a preview').toBeVisible();
    await expect.soft(preview, 'the preview counts the 2 checked instances').toHaveText(/\b2\b/);
    const before = (await preview.count()) ? await preview.innerText() : null;
    await dialog.locator(`.check-row[data-instance-id="${b.id}"] input`).uncheck();
    await expect.soft(preview, 'the preview follows the checkboxes').toHaveText(/\b1\b/);
    if (before !== null) await expect.soft(preview, 'the preview text changes').not.toHaveText(before);
    await dialog.locator(`.check-row[data-instance-id="${b.id}"] input`).check();

    // Checking the running one: the refusal names it, and its row is marked.
    await dialog.locator(`.check-row[data-instance-id="${c.id}"] input`).check();
    await expect(dialog.locator('.selection-error')).toBeVisible();
    await expect.soft(dialog.locator('.selection-error'), 'the refusal names the ineligible node').toContainText(`${prefix}_c`);
    await expect.soft(dialog.locator(`.check-row[data-instance-id="${c.id}"]`), 'the ineligible row is marked').toHaveAttribute('data-ineligible', 'true');
    await screenshot(page, `${lang()}-rerun-downstream-refused`);
  } finally {
    await request.post(`/api/v1/instances/${c.id}/kill`);
  }
});

test('defect 9: a test or backfill list filtered to one job shows that filter and lets it go', async ({ page, request }) => {
  const prefix = unique('e2e_job');
  const node = `${prefix}_node`;
  await createNodes(request, [{ name: node, owner: 'admin', command: 'true', schedule: '0 1 * * *' }]);
  const tested = await request.post('/api/v1/tests', { data: { node, bizdate: '2026-03-02' } });
  expect(tested.status(), await tested.text()).toBe(201);
  const testJob: number = (await tested.json()).job;
  const backfilled = await request.post('/api/v1/backfills', { data: { node, from: '2026-03-01', to: '2026-03-02' } });
  expect(backfilled.status(), await backfilled.text()).toBe(201);
  const backfillJob: number = (await backfilled.json()).job;

  const chip = page.locator('form.filters [data-filter-chip="job"]');
  await page.goto(`/backfill?state=any&job=${backfillJob}`);
  await hydrated(page);
  await expect(page.locator('table.instances tbody tr')).toHaveCount(2);
  await expect.soft(chip, 'the backfill list shows its job filter').toBeVisible();
  await expect.soft(chip).toContainText(String(backfillJob));

  await page.goto(`/test?state=any&job=${testJob}`);
  await hydrated(page);
  await expect(page.locator('table.instances tbody tr')).toHaveCount(1);
  await expect(chip, 'the test list shows its job filter').toBeVisible();
  await expect(chip).toContainText(String(testJob));
  await screenshot(page, `${lang()}-test-job`);
  await chip.locator('[data-remove-filter="job"]').click();
  await expect(page).toHaveURL(/\/test\?/);
  await expect(page).not.toHaveURL(/[?&]job=/);
  await expect(chip).toHaveCount(0);
});

test('defect 10: edges of the definition graph do not pass behind other nodes', async ({ page }) => {
  await page.goto('/tasks?workflow=sales');
  await hydrated(page);
  const svg = page.locator('svg.definitions');
  await expect(svg.locator('g[data-node="dws_sales_daily"] rect')).toBeVisible();
  // The edges (paths of class fedge; an edge may be drawn in more than one piece).
  const edges = svg.locator('.fedge');
  await expect.poll(() => edges.count()).toBeGreaterThanOrEqual(6);
  // Every edge says what it connects: the six dependencies of the demo's sales workflow.
  const ends = await edges.evaluateAll((els) => els.map((e) => [e.getAttribute('data-from'), e.getAttribute('data-to')]));
  expect.soft(ends.filter(([from, to]) => !from || !to).length, 'edges without data-from/data-to').toBe(0);
  expect.soft([...new Set(ends.map(([from, to]) => `${from} → ${to}`))].sort(), 'the edges by their ends').toEqual([
    'ads_partner_export → ads_partner_ack',
    'dwd_orders_clean → dws_sales_daily',
    'dws_sales_daily → ads_partner_export',
    'dws_sales_daily → ads_sales_report',
    'ods_customers → dws_sales_daily',
    'ods_orders → dwd_orders_clean',
  ]);

  // Each edge, sampled along its length, stays out of every box but its own two ends.
  const crossings = await svg.evaluate((root) => {
    const boxes = [...root.querySelectorAll('g[data-node]')].map((g) => {
      const r = g.querySelector('rect')!.getBoundingClientRect();
      return { name: g.getAttribute('data-node')!, left: r.left + 1, right: r.right - 1, top: r.top + 1, bottom: r.bottom - 1 };
    });
    const found: string[] = [];
    for (const edge of root.querySelectorAll<SVGGeometryElement>('.fedge')) {
      const from = edge.getAttribute('data-from');
      const to = edge.getAttribute('data-to');
      const matrix = edge.getScreenCTM()!;
      const length = edge.getTotalLength();
      const hit = new Set<string>();
      for (let i = 0; i <= 50; i++) {
        const p = edge.getPointAtLength((length * i) / 50);
        const q = new DOMPoint(p.x, p.y).matrixTransform(matrix);
        for (const b of boxes) {
          if (b.name === from || b.name === to) continue;
          if (q.x > b.left && q.x < b.right && q.y > b.top && q.y < b.bottom) hit.add(b.name);
        }
      }
      // Name the edge by its ends, or today (no data-from/to) by its path.
      for (const name of hit) found.push(`${from ?? '?'} → ${to ?? '?'} (${edge.getAttribute('d')}) passes behind ${name}`);
    }
    return found;
  });
  await screenshot(page, `${lang()}-tasks-sales`);
  expect(crossings, 'edges passing behind nodes that are not their ends').toEqual([]);
});

test('defect 11: no crowded spots: icon and label, the form buttons, the chart axis', async ({ page, request }) => {
  // (a) The icon and the label of a state chip are apart.
  await page.goto('/cycle?state=any');
  await hydrated(page);
  const legend = page.locator('.legend .badge.state-failed');
  await expect(legend.locator('.icon')).toBeVisible();
  await expect.soft(legend.locator('span.label'), 'the legend chip has its label in span.label').toHaveCount(1);
  if (await legend.locator('span.label').count()) {
    const gap = (await box(legend.locator('span.label'))).x - ((await box(legend.locator('.icon'))).x + (await box(legend.locator('.icon'))).width);
    expect.soft(gap, 'legend: gap between icon and label (px)').toBeGreaterThanOrEqual(3);
  }
  // The state chips of the filter bar: the label is whatever follows the icon.
  const chipGap = await page.locator('.chips [data-state="failed"]').evaluate((chip) => {
    const icon = chip.querySelector('.icon, [aria-hidden="true"]')!;
    const label = chip.querySelector('span.label');
    const range = document.createRange();
    if (label) {
      range.selectNodeContents(label);
    } else {
      // The text after the icon, without leading blanks.
      let node = icon.nextSibling;
      while (node && !(node.textContent ?? '').trim()) node = node.nextSibling;
      const text = node!.nodeType === Node.TEXT_NODE ? node! : node!.firstChild!;
      const skip = (text.textContent ?? '').length - (text.textContent ?? '').trimStart().length;
      range.setStart(text, skip);
      range.setEnd(text, (text.textContent ?? '').length);
    }
    const iconBox = icon.getBoundingClientRect();
    return range.getBoundingClientRect().left - iconBox.right;
  });
  expect.soft(chipGap, 'filter chip: gap between icon and label (px)').toBeGreaterThanOrEqual(3);

  // (b) Cancel and Create node on the new-node form are apart.
  await page.goto('/tasks/new');
  await hydrated(page);
  const cancel = await box(page.locator('form.node-form .buttons a.button'));
  const create = await box(page.locator('form.node-form .buttons button[type="submit"]'));
  expect.soft(distance(cancel, create), 'space between cancel and create (px)').toBeGreaterThanOrEqual(8);

  // (c) The chart's axis label is legible: contrast >= 4.5, fully opaque, no light outline.
  const prefix = unique('e2e_axis');
  const node = `${prefix}_node`;
  await createNodes(request, [{ name: node, owner: 'admin', command: 'sleep 0.1', schedule: '0 1 * * *' }]);
  await snapshot(request, '2020-11-04');
  const done = await waitForState(request, node, 'success');
  await page.goto(`/instances/${done.id}`);
  await hydrated(page);
  const axis = page.locator('svg.chart text.axis').first();
  await expect(axis).toBeVisible();
  const look = await axis.evaluate((el) => {
    // CSS colour → [r, g, b, alpha], through a canvas (any syntax getComputedStyle answers).
    const ctx = document.createElement('canvas').getContext('2d', { willReadFrequently: true })!;
    const rgba = (css: string): number[] => {
      ctx.clearRect(0, 0, 1, 1);
      ctx.fillStyle = '#000';
      ctx.fillStyle = css;
      ctx.fillRect(0, 0, 1, 1);
      const [r, g, b, a] = ctx.getImageData(0, 0, 1, 1).data;
      return [r, g, b, a / 255];
    };
    // WCAG 2 relative luminance and contrast ratio.
    const luminance = ([r, g, b]: number[]) => {
      const [R, G, B] = [r, g, b].map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
      return 0.2126 * R + 0.7152 * G + 0.0722 * B;
    };
    const ratio = (a: string, b: string) => {
      const [hi, lo] = [luminance(rgba(a)), luminance(rgba(b))].sort((x, y) => y - x);
      return (hi + 0.05) / (lo + 0.05);
    };
    // What the text is drawn on: the nearest opaque background.
    let background = 'rgb(255, 255, 255)';
    for (let e = el.parentElement; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      if (rgba(bg)[3] > 0.99) {
        background = bg;
        break;
      }
    }
    const style = getComputedStyle(el);
    let opacity = Number(style.opacity) * Number(style.fillOpacity) * rgba(style.fill)[3];
    for (let e = el.parentElement; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    const strokePainted =
      style.stroke !== 'none' && parseFloat(style.strokeWidth) > 0 && Number(style.strokeOpacity) > 0 && rgba(style.stroke)[3] > 0;
    return {
      fill: style.fill,
      background,
      contrast: ratio(style.fill, background),
      opacity,
      stroke: `${style.stroke} ${style.strokeWidth}`,
      strokeContrast: strokePainted ? ratio(style.stroke, background) : null,
    };
  });
  expect.soft(look.contrast, `axis label fill ${look.fill} on ${look.background}`).toBeGreaterThanOrEqual(4.5);
  expect.soft(look.opacity, 'axis label opacity').toBe(1);
  // An outline paints over the glyphs: if there is one, it must be as legible as the fill.
  if (look.strokeContrast !== null) {
    expect.soft(look.strokeContrast, `axis label outline ${look.stroke} on ${look.background}`).toBeGreaterThanOrEqual(4.5);
  }
});

test('defect 12: an empty "my failed" landing view leads to all failed instances', async ({ browser, request }) => {
  const prefix = unique('e2e_land');
  const node = `${prefix}_bobs`;
  await createNodes(request, [{ name: node, owner: 'bob', command: 'exit 1', schedule: '0 1 * * *' }]);
  await snapshot(request, '2020-11-05');
  await waitForState(request, node, 'failed');
  const name = unique('boss').toLowerCase();
  const added = await request.post('/api/v1/users', { data: { name, password: 'boss-password', role: 'admin' } });
  expect(added.status(), await added.text()).toBe(201);

  const page = await signedIn(browser, name, 'boss-password');
  await page.goto('/');
  await hydrated(page);
  await expect(page).toHaveURL(new RegExp(`[?&]state=failed,stopped&owner=${name}$`));
  await expect(page.locator('table.instances tbody tr')).toHaveCount(0);
  const all = page.locator('.empty a[data-all-failed]');
  await expect(all, 'the empty state offers all failed instances').toBeVisible();
  await screenshot(page, `${lang()}-cycle-empty-mine`);
  await all.click();
  await expect(page).toHaveURL(/[?&]state=failed,stopped(&|$)/);
  await expect(page).not.toHaveURL(/[?&]owner=/);
  // Newest first: the instance that failed just now is on the first page.
  await expect(row(page, node)).toBeVisible();
  await page.context().close();
});
