import Database from 'better-sqlite3';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordTerms, toPin } from '../../client-verifier/index.js';
import { decodeNote, formatCheckpoint, parseCheckpoint, privateKeySeed, signNote } from '../../protocol/index.js';
import { readPrivateKeyFile } from '../../protocol/key-file.js';
import { revokeKey } from '../../registry/services/namespaces.js';
import { revokeVersion } from '../../registry/services/publish.js';
import { LOCKFILE_TYPE, type Lockfile, type ToolDefinition, type VersionBundle } from '../../schemas/index.js';
import { DEMO_UPGRADE } from '../../scripts/serve.js';
import { CHROMIUM_MISSING, HAS_CHROMIUM, launchBrowser } from './browser.js';
import { ADMIN, addProvider, demoRegistry, LOOKUP_V1, publishSepTools, publishVersion, PUBLISHER, SEP_NS, type DemoRegistry } from './fixture.js';

const IN_CI = process.env.CI === 'true';
if (!HAS_CHROMIUM && !IN_CI) console.warn(CHROMIUM_MISSING);

describe('web interface in a real browser', () => {
  // only under CI=true, where a missing browser must fail the run (elsewhere the suite below is skipped with a warning)
  it.runIf(IN_CI)('has a browser to run in under CI=true', () => {
    expect(HAS_CHROMIUM, CHROMIUM_MISSING).toBe(true);
  });
});

/**
 * Forgets what this browser pinned for `origin`: one Chromium serves many short-lived registries,
 * and a port the system hands out again must not look like a registry that changed its log key.
 */
async function forgetOrigin(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/ui/assets/style.css`);
  await page.evaluate(() => localStorage.clear());
}

/** Waits until the page's own check settled and returns its verdict panel's status and code. */
async function verdict(page: Page): Promise<{ status: string; code: string | undefined; text: string }> {
  await page.waitForFunction(() => document.getElementById('verify')?.dataset.status !== 'pending', undefined, { timeout: 90_000 });
  return page.evaluate(() => {
    const panel = document.getElementById('verify')!;
    return { status: panel.dataset.status!, code: panel.dataset.code, text: document.getElementById('verdict')!.textContent ?? '' };
  });
}

// Generous: a real browser and real registries on two shared cores (no timing is asserted).
describe.skipIf(!HAS_CHROMIUM)('web interface in a real browser (Chromium)', { timeout: 120_000 }, () => {
  let demo: DemoRegistry;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;

  beforeAll(async () => {
    demo = await demoRegistry();
    await publishSepTools(demo);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await demo?.stop();
    demo?.remove();
  });

  const open = async (path: string): Promise<Page> => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(demo.url + path);
    return page;
  };

  it('search finds a demo tool (typed and submitted with the keyboard)', async () => {
    const page = await open('/');
    await page.focus('#q');
    await page.keyboard.type('read_text');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\?q=read_text/);
    const results = await page.locator('ul.results li a').allTextContents();
    expect(results).toContain('dev.etdi.demo.filesystem/read_text_file');
    await page.close();
  });

  it('the comparison of two published versions shows the escalation first', async () => {
    const { toolId, from, to } = DEMO_UPGRADE;
    const page = await open(`/ui/tools/${toolId}/compare?from=${from}&to=${to}`);
    const items = await page.locator('ol.changes > li').evaluateAll((lis) => lis.map((li) => ({ escalation: li.classList.contains('escalation'), text: li.textContent ?? '' })));
    expect(items[0]!.escalation).toBe(true);
    expect(items[0]!.text).toContain('filesystem:write');
    // every escalation before every other change
    const firstOther = items.findIndex((i) => !i.escalation);
    expect(items.slice(firstOther).some((i) => i.escalation)).toBe(false);
    expect(items.map((i) => i.text).join('\n')).toMatch(/readOnlyHint true → false[\s\S]*backupDir/);
    expect(await page.locator('.diff ins').first().textContent()).toContain('backup');
    await page.close();
  });

  it('the version page reports "verified" after the browser checked signature, digests, proof and checkpoint', async () => {
    const page = await open(`/ui/tools/${DEMO_UPGRADE.toolId}/versions/${DEMO_UPGRADE.to}`);
    const v = await verdict(page);
    expect(v).toMatchObject({ status: 'verified', text: 'verified' });
    const checks = await page.locator('#checks li').allTextContents();
    expect(checks.join('\n')).toMatch(/Ed25519[\s\S]*digest[\s\S]*entry #\d+ of the tree[\s\S]*log key you pinned/);
    await page.close();
  });

  describe('a SEP-3140 version', () => {
    it('its page shows the declaration, its trust labels and its publisher, and the browser verifies its JWS, digests, proof and checkpoint', async () => {
      const page = await open(`/ui/tools/${SEP_NS}/lookup/versions/1.0.0`);
      expect(await verdict(page)).toMatchObject({ status: 'verified', text: 'verified' });
      const checks = (await page.locator('#checks li').allTextContents()).join('\n');
      expect(checks).toMatch(/detached JWS \(EdDSA\)[\s\S]*"web-test-2026" of https:\/\/web\.example\.com\/publisher\.json[\s\S]*contentHash recomputed[\s\S]*entry #\d+ of the tree[\s\S]*log key you pinned/);
      expect(await page.locator('#verdict-detail').textContent()).toContain(`is what ${PUBLISHER} signed for https://web.example.com/mcp`);
      expect(await page.locator('.description').textContent()).toBe(LOOKUP_V1);
      expect(await page.locator('p.format').textContent()).toContain(`SEP-3140 declaration, signed by ${PUBLISHER} for https://web.example.com/mcp`);
      const labels = await page.locator('table.trust tbody tr').evaluateAll((trs) => trs.map((tr) => [(tr as HTMLElement).dataset.label, tr.querySelector('td:last-child')!.textContent]));
      expect(labels).toEqual([
        ['effect', 'read-only'],
        ['egress', 'none'],
        ['dataSensitivity', 'public'],
        ['reversible', 'false most restrictive'],
        ['idempotent', 'false most restrictive'],
      ]);
      await page.close();
    });

    it('the comparison of two SEP-3140 versions shows the description change and the riskier label first', async () => {
      const page = await open(`/ui/tools/${SEP_NS}/lookup/compare?from=1.0.0&to=2.0.0`);
      expect(await page.locator('.diff ins').first().textContent()).toBe(' and sends it to the vendor');
      const first = page.locator('ol.changes > li').first();
      expect(await first.getAttribute('class')).toBe('escalation');
      expect(await first.textContent()).toContain('Riskier trust label: egress none → external');
      await page.close();
    });

    it('a hostile declaration\'s title and description stay text, and the version still verifies', async () => {
      const page = await browser.context.newPage();
      let dialogs = 0;
      page.on('dialog', (d) => {
        dialogs++;
        void d.dismiss();
      });
      for (const path of [`/ui/tools/${SEP_NS}/hostile_sep`, `/ui/tools/${SEP_NS}/hostile_sep/versions/1.0.0`, '/?q=hostile_sep']) {
        await page.goto(demo.url + path);
        if (path.includes('/versions/')) expect((await verdict(page)).status).toBe('verified');
        await page.hover('main').catch(() => undefined);
        expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
        expect(await page.locator('main script, main img, main [onerror], main [onmouseover]').count()).toBe(0);
      }
      await page.goto(`${demo.url}/ui/tools/${SEP_NS}/hostile_sep`);
      expect(await page.locator('.description').textContent()).toContain('<script>window.__pwned=1</script>');
      expect(await page.locator('main p', { hasText: 'Title:' }).textContent()).toContain('<img src=x onerror=alert(1)>');
      expect(dialogs).toBe(0);
      await page.close();
    });
  });

  it('the log page checks the checkpoint with the pinned key, an inclusion proof, and that the log only grew since the last visit', async () => {
    const page = await open('/ui/log?inclusion=3');
    expect((await verdict(page)).status).toBe('verified');
    expect((await page.locator('#checks li').allTextContents()).join('\n')).toMatch(/signed by the log key you pinned[\s\S]*entry #3 is in the signed tree/);
    await addProvider(demo, 'dev.etdi.test.logpage'); // the log grows by one entry
    await page.goto(`${demo.url}/ui/log`);
    expect((await verdict(page)).status).toBe('verified');
    expect((await page.locator('#checks li').allTextContents()).join('\n')).toMatch(/Consistency: the log of size (\d+) extends the one of size (\d+)/);
    await page.close();
  });

  it('every page reads on a narrow screen (360 px: nothing wider than the viewport) and starts with a skip link for the keyboard', async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 360, height: 740 });
    const { toolId, from, to } = DEMO_UPGRADE;
    for (const path of ['/', '/?q=read', `/ui/tools/${toolId}`, `/ui/tools/${toolId}/versions/${to}`, `/ui/tools/${toolId}/compare?from=${from}&to=${to}`, `/ui/tools/${SEP_NS}/lookup/versions/1.0.0`, `/ui/tools/${SEP_NS}/lookup/compare?from=1.0.0&to=2.0.0`, '/ui/namespaces/dev.etdi.demo.filesystem', '/ui/log?inclusion=2&from=1&to=10', '/ui/lockfile']) {
      await page.goto(demo.url + path);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow, path).toBeLessThanOrEqual(0);
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent), path).toBe('Skip to content');
    }
    await page.close();
  });

  describe('against a registry whose store was tampered with', () => {
    const READ_TEXT = 'dev.etdi.demo.filesystem/read_text_file';
    const LOOKUP = `${SEP_NS}/lookup`;
    /** Replaces `from` by `to` in the stored signed document of `toolId@1.0.0`. */
    const editDocument = (db: Database.Database, toolId: string, from: string, to: string): void => {
      const row = db.prepare('SELECT signed_manifest FROM versions WHERE tool_id = ? AND version = ?').get(toolId, '1.0.0') as { signed_manifest: string };
      const edited = row.signed_manifest.replace(from, to);
      expect(edited).not.toBe(row.signed_manifest);
      db.prepare('UPDATE versions SET signed_manifest = ? WHERE tool_id = ? AND version = ?').run(edited, toolId, '1.0.0');
    };
    // One registry per case: its SQLite file is edited while it is stopped, then it serves again.
    it.each([
      ['stored manifest edited in its SQLite row', READ_TEXT, 'BAD_SIGNATURE', (db: Database.Database) => editDocument(db, READ_TEXT, 'Read the complete contents', 'Read and upload the complete contents')],
      [
        'inclusion proof: a stored sibling hash of the log tree changed',
        READ_TEXT,
        'NOT_LOGGED',
        (db: Database.Database) => {
          const { leaf_index } = db.prepare('SELECT leaf_index FROM versions WHERE tool_id = ? AND version = ?').get(READ_TEXT, '1.0.0') as { leaf_index: number };
          const changed = db.prepare('UPDATE log_nodes SET hash = ? WHERE level = 0 AND idx = ?').run(Buffer.alloc(32, 7), leaf_index ^ 1);
          expect(changed.changes).toBe(1);
        },
      ],
      // the manifest and its JWS intact, the declaration no longer the one its entry hashes
      ['SEP-3140 declaration edited in its SQLite row', LOOKUP, 'DEFINITION_MISMATCH', (db: Database.Database) => editDocument(db, LOOKUP, LOOKUP_V1, `${LOOKUP_V1} and mails it out`)],
      ['SEP-3140 capability manifest edited (another server)', LOOKUP, 'BAD_SIGNATURE', (db: Database.Database) => editDocument(db, LOOKUP, 'https://web.example.com/mcp', 'https://evil.example.com/mcp')],
    ])('%s: the version page of %s reports %s', async (_name, toolId, code, tamper) => {
      const victim = await demoRegistry();
      await publishSepTools(victim);
      await victim.stop();
      const db = new Database(victim.dbPath);
      tamper(db);
      db.close();
      const again = await demoRegistry({ dir: victim.dir, seed: false });
      try {
        const page = await browser.context.newPage();
        await forgetOrigin(page, again.url);
        await page.goto(`${again.url}/ui/tools/${toolId}/versions/1.0.0`);
        expect(await verdict(page)).toMatchObject({ status: 'failed', code });
        await page.close();
      } finally {
        await again.stop();
        again.remove();
      }
    });
  });

  it('a changed log key raises the alarm instead of being accepted', async () => {
    const first = await demoRegistry();
    const port = Number(new URL(first.url).port);
    const path = `/ui/tools/${DEMO_UPGRADE.toolId}/versions/1.0.0`;
    const page = await browser.context.newPage();
    try {
      await forgetOrigin(page, first.url);
      await page.goto(first.url + path);
      expect((await verdict(page)).status).toBe('verified'); // pins this registry's log key
      expect(await page.locator('#log-key-pin').textContent()).toContain('first use');
      await first.stop();
      // another registry (another log, another key) answering at the same origin
      const second = await demoRegistry({ port });
      try {
        await page.goto(second.url + path);
        expect(await verdict(page)).toMatchObject({ status: 'alarm', code: 'LOG_KEY_CHANGED' });
        await expect(page.locator('#log-key-alarm').isVisible()).resolves.toBe(true);
        expect(await page.locator('#checks li').count()).toBe(0);
        // only an explicit decision replaces the pin
        await page.click('#trust-new-log-key');
        await page.waitForLoadState('load');
        expect((await verdict(page)).status).toBe('verified');
      } finally {
        await second.stop();
        second.remove();
      }
    } finally {
      await page.close();
      first.remove();
    }
  });

  describe('lockfile review', () => {
    const bundleOf = async (r: DemoRegistry, toolId: string, version: string): Promise<VersionBundle> =>
      (await (await fetch(`${r.url}/v1/tools/${toolId}/versions/${version}/bundle`)).json()) as VersionBundle;
    const pinOf = async (r: DemoRegistry, toolId: string, version: string) => {
      const { record } = await bundleOf(r, toolId, version);
      const terms = recordTerms(record);
      return toPin({ toolId, toolName: terms.definition.name, version, provider: record.provider, definitionDigest: record.definitionDigest, manifestDigest: record.manifestDigest, manifest: terms, signerKeyId: record.signerKeyId });
    };
    const lockfileOf = async (r: DemoRegistry, pins: [string, string][], checkpoint?: Lockfile['checkpoint']): Promise<Lockfile> => {
      const tools: Lockfile['tools'] = {};
      for (const [toolId, version] of pins) tools[toolId] = await pinOf(r, toolId, version);
      return { type: LOCKFILE_TYPE, tools, ...(checkpoint ? { checkpoint } : {}) };
    };
    const review = async (r: DemoRegistry, lockfile: Lockfile): Promise<{ rows: Record<string, string>; posts: number; page: Page }> => {
      const page = await browser.context.newPage();
      let posts = 0;
      const text = JSON.stringify(lockfile);
      if (process.env.ETDI_TEST_BROWSER_LOG) page.on('console', (m) => console.log('browser:', m.text()));
      page.on('request', (req) => {
        if (req.method() !== 'GET' || (req.postData() ?? '').includes(LOCKFILE_TYPE) || req.url().includes('lockfile=')) posts++;
      });
      await forgetOrigin(page, r.url);
      await page.goto(`${r.url}/ui/lockfile`);
      await page.setInputFiles('#lockfile', { name: 'etdi.lock.json', mimeType: 'application/json', buffer: Buffer.from(text) });
      await page.waitForFunction(() => !['pending'].includes(document.getElementById('verify')!.dataset.status!), undefined, { timeout: 90_000 });
      const rows = await page.locator('#pins tbody tr').evaluateAll((trs) => Object.fromEntries(trs.map((tr) => [(tr as HTMLElement).dataset.toolId!, (tr as HTMLElement).dataset.status!])));
      return { rows, posts, page };
    };

    it('lists the right status per pin, with links and the exact etdi approve commands, without uploading the file', async () => {
      const r = await demoRegistry();
      try {
        const { ctx } = r.running.app.registry;
        const demoKey = { privateJwk: await readPrivateKeyFile(join(r.dir, 'demo-key.jwk')) };
        // newer version, no escalation: a reworded description
        const graph = recordTerms((await bundleOf(r, 'dev.etdi.demo.memory/read_graph', '1.0.0')).record);
        await publishVersion(r, demoKey, 'dev.etdi.demo.memory', { ...graph.definition, description: 'Read the whole knowledge graph' } as ToolDefinition, '1.0.1', { permissions: graph.permissions });
        // revoked: the pinned version withdrawn by its provider
        await revokeVersion(ctx, ADMIN, 'dev.etdi.demo.memory/search_nodes', '1.0.0', 'returns other users’ nodes');
        // key revoked: a provider whose key was compromised before it signed
        const compromised = await addProvider(r, 'dev.etdi.test.keyrev');
        await publishVersion(r, compromised, 'dev.etdi.test.keyrev', { name: 'lookup', description: 'Looks things up', inputSchema: { type: 'object' } }, '1.0.0');
        const before = await pinOf(r, 'dev.etdi.test.keyrev/lookup', '1.0.0');
        await revokeKey(ctx, ADMIN, 'dev.etdi.test.keyrev', compromised.publicJwk.kid ?? before.signerKeyId, { reason: 'key leaked', revokedFrom: '2020-01-01T00:00:00Z' });
        // SEP-3140 versions: lookup 2.0.0 declares external egress where 1.0.0 said none
        await publishSepTools(r);
        const lockfile = await lockfileOf(r, [
          [`${SEP_NS}/lookup`, '1.0.0'],
          [`${SEP_NS}/hostile_sep`, '1.0.0'],
          ['dev.etdi.demo.filesystem/list_directory', '1.0.0'],
          ['dev.etdi.demo.memory/read_graph', '1.0.0'],
          [DEMO_UPGRADE.toolId, DEMO_UPGRADE.from],
          ['dev.etdi.demo.memory/search_nodes', '1.0.0'],
        ]);
        lockfile.tools['dev.etdi.test.keyrev/lookup'] = before;
        const { rows, posts, page } = await review(r, lockfile);
        expect(rows).toEqual({
          'dev.etdi.demo.filesystem/list_directory': 'up-to-date',
          'dev.etdi.demo.memory/read_graph': 'newer-version',
          [DEMO_UPGRADE.toolId]: 'escalation',
          'dev.etdi.demo.memory/search_nodes': 'revoked',
          'dev.etdi.test.keyrev/lookup': 'key-revoked',
          [`${SEP_NS}/lookup`]: 'escalation',
          [`${SEP_NS}/hostile_sep`]: 'up-to-date',
        });
        expect(posts).toBe(0);
        const escalation = page.locator(`#pins tr[data-tool-id="${DEMO_UPGRADE.toolId}"]`);
        expect(await escalation.locator('code.command').textContent()).toBe(
          `etdi approve ${DEMO_UPGRADE.toolId}@${DEMO_UPGRADE.to} --registry ${ctx.config.origin} --lockfile etdi.lock.json`,
        );
        expect(await escalation.locator('a', { hasText: 'compare' }).getAttribute('href')).toBe(
          `/ui/tools/dev.etdi.demo.filesystem/read_text_file/compare?from=${DEMO_UPGRADE.from}&to=${DEMO_UPGRADE.to}`,
        );
        await page.close();
      } finally {
        await r.stop();
        r.remove();
      }
    });

    it('marks every pin "log inconsistent" when the registry does not extend the lockfile\'s checkpoint (a fork)', async () => {
      const r = await demoRegistry();
      try {
        // a checkpoint of a longer, different tree, signed with this log's own key: what a forking log shows someone else
        const log = r.running.app.registry.ctx.log;
        const current = parseCheckpoint(decodeNote(await log.checkpoint()).text);
        const logKey = JSON.parse((await r.running.app.registry.ctx.store.registryKeys('log'))[0]!.private_jwk);
        const forked = await signNote(formatCheckpoint({ origin: current.origin, size: current.size + 3, rootHash: new Uint8Array(32).fill(9), extensions: [] }), { name: log.keyName, seed: privateKeySeed(logKey) });
        const lockfile = await lockfileOf(r, [['dev.etdi.demo.filesystem/list_directory', '1.0.0']], { origin: current.origin, treeSize: current.size + 3, note: forked });
        const { rows, page } = await review(r, lockfile);
        expect(rows).toEqual({ 'dev.etdi.demo.filesystem/list_directory': 'log-inconsistent' });
        await page.close();
      } finally {
        await r.stop();
        r.remove();
      }
    });
  });

  describe('hostile provider content stays inert', () => {
    const NS = 'dev.etdi.test.hostile';
    // Each attack is a tool of its own: its page, its version page and the search must run nothing.
    const CASES: [string, ToolDefinition, string][] = [
      ['script tag in the description', { name: 'script_tag', description: 'Reads files.<script>window.__pwned = "script"</script>', inputSchema: { type: 'object' } }, 'script'],
      ['event-handler attribute in the title', { name: 'event_handler', title: '<img src=x onerror="window.__pwned=\'onerror\'">', description: 'x" onmouseover="window.__pwned=1', inputSchema: { type: 'object' } }, 'img'],
      [
        'javascript: URL in the description and a parameter',
        { name: 'js_url', description: 'javascript:window.__pwned="url" [click](javascript:window.__pwned=1)', inputSchema: { type: 'object', properties: { 'javascript:window.__pwned=1': { type: 'string', description: '<a href="javascript:window.__pwned=1">docs</a>' } } } },
        'javascript',
      ],
      ['look-alike Unicode (Cyrillic а in "Read")', { name: 'lookalike', title: 'Rеаd file', description: 'Reаd a file from disk', inputSchema: { type: 'object', properties: { 'pаth': { type: 'string' } } } }, 'lookalike'],
      ['script tag in a signed Cedar policy (a comment)', { name: 'policy_script', description: 'Has a policy', inputSchema: { type: 'object' } }, 'policy'],
      ['bidirectional override (Trojan Source)', { name: 'bidi', description: 'Reads files \u202Eexe.tpircs\u202C safely \u2066hidden\u2069', inputSchema: { type: 'object' } }, 'bidi'],
    ];

    beforeAll(async () => {
      const key = await addProvider(demo, NS);
      for (const [, definition, kind] of CASES)
        await publishVersion(demo, key, NS, definition, '1.0.0', kind === 'policy' ? { policy: { language: 'cedar', policies: '// </pre><script>window.__pwned="policy"</script>\npermit (principal, action, resource);' } } : {});
    });

    it.each(CASES)('%s', async (_name, definition, kind) => {
      const toolId = `${NS}/${definition.name}`;
      const page = await browser.context.newPage();
      let dialogs = 0;
      page.on('dialog', (d) => {
        dialogs++;
        void d.dismiss();
      });
      for (const path of [`/ui/tools/${toolId}`, `/ui/tools/${toolId}/versions/1.0.0`, `/?q=${definition.name}`, `/ui/namespaces/${NS}`]) {
        await page.goto(demo.url + path);
        if (path.includes('/versions/')) expect((await verdict(page)).status).toBe('verified'); // the script ran, and still nothing else did
        await page.hover('main').catch(() => undefined);
        expect(await page.evaluate(() => (window as { __pwned?: unknown }).__pwned)).toBeUndefined();
        expect(await page.locator('main script, main img, main [onerror], main [onmouseover]').count()).toBe(0);
        expect(await page.locator('a[href^="javascript:" i]').count()).toBe(0);
        // every link is a path of this site
        const hrefs = await page.locator('a[href]').evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
        expect(hrefs.filter((h) => !h.startsWith('/') && !h.startsWith('#'))).toEqual([]);
      }
      await page.goto(`${demo.url}/ui/tools/${toolId}`);
      if (kind === 'lookalike') {
        const marks = await page.locator('mark.lookalike').allTextContents();
        expect(marks.length).toBeGreaterThanOrEqual(3); // title, description, parameter name
        expect(marks[0]).toContain('U+0435');
      }
      if (kind === 'bidi') {
        expect(await page.locator('mark.bidi').count()).toBe(4);
        expect(await page.evaluate(() => /[\u202A-\u202E\u2066-\u2069]/.test(document.body.innerText))).toBe(false);
      }
      if (kind === 'script') expect(await page.locator('.description').textContent()).toContain('<script>');
      if (kind === 'policy') expect(await page.locator('main pre', { hasText: 'permit' }).textContent()).toContain('</pre><script>');
      expect(dialogs).toBe(0);
      await page.close();
    });
  });
});
