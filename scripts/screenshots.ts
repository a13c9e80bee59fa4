// `npm run screenshots`: the README's pictures of the web interface, taken from the demo registry
// (`etdi serve --demo`'s real tools) in Debian's Chromium. Writes docs/images/web-compare.png and
// docs/images/web-verified.png.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { SqliteStore, startServer } from '@etdi/registry';
import { DEMO_UPGRADE, seedDemo } from './serve.js';

const CHROMIUM = process.env.ETDI_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'];

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium`);
  const out = fileURLToPath(new URL('../../docs/images/', import.meta.url));
  mkdirSync(out, { recursive: true });
  const data = mkdtempSync(join(tmpdir(), 'etdi-screenshots-'));
  const profile = mkdtempSync(join(tmpdir(), 'etdi-screenshots-profile-'));
  const store = SqliteStore.open({ path: join(data, 'registry.db') });
  const running = await startServer({ store, port: 0, config: { requestLog: false, writeWorker: 'off' } });
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1000, height: 1100 } });
  try {
    await seedDemo(running, data);
    const page = await context.newPage();
    const { toolId, from, to } = DEMO_UPGRADE;
    await page.goto(`${running.url}/ui/tools/${toolId}/compare?from=${from}&to=${to}`);
    await page.screenshot({ path: join(out, 'web-compare.png') });
    await page.goto(`${running.url}/ui/tools/${toolId}/versions/${to}`);
    await page.waitForFunction(() => document.getElementById('verify')?.dataset.status !== 'pending');
    await page.screenshot({ path: join(out, 'web-verified.png') });
    console.log(`wrote ${join(out, 'web-compare.png')} and ${join(out, 'web-verified.png')}`);
  } finally {
    await context.close();
    await running.close();
    rmSync(data, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
