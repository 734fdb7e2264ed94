import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// scripts/test.sh passes a free port and a fresh data directory; run by hand, we make our own.
const port = process.env.NIGHTSHIFT_E2E_PORT ?? '3917';
const dataDir =
  process.env.NIGHTSHIFT_E2E_DATA_DIR ??
  (process.env.NIGHTSHIFT_E2E_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'nightshift-e2e-')));
const root = path.resolve(__dirname, '..');
// The server binary and site under test (the fresh build unless told otherwise).
const binary = process.env.NIGHTSHIFT_E2E_BIN ?? `${root}/target/release/nightshift`;
const site = process.env.NIGHTSHIFT_E2E_SITE ?? `${root}/target/site`;

// The server runs the demo (for its accounts; global-setup.ts pauses its nodes so that the tests'
// snapshots do not run them), and every test starts signed in as the demo administrator.
export const adminState = path.join(dataDir, 'admin-state.json');
export const adminToken = path.join(dataDir, 'admin-token.txt');

export default defineConfig({
  testDir: './tests',
  globalSetup: require.resolve('./global-setup'),
  timeout: 120_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  // Every flow in both languages: the browser asks for one (Accept-Language, navigator.language)
  // and the tests read the words of that language from app/locales (tests/i18n.ts).
  projects: [
    { name: 'en', use: { locale: 'en-US' } },
    { name: 'zh-CN', use: { locale: 'zh-CN' } },
  ],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    storageState: adminState,
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command:
      `${binary} --listen 127.0.0.1:${port} ` +
      `--data-dir ${dataDir} --site-root ${site} --demo`,
    url: `http://127.0.0.1:${port}/api/v1/health`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
