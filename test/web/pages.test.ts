import request from 'supertest';
import { jwkThumbprint } from '../../protocol/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, providerText, wordDiff } from '../../registry/web/index.js';
import { trustLabelsView } from '../../registry/web/pages/definition.js';
import { DEMO_UPGRADE } from '../../scripts/serve.js';
import { revokeVersion } from '../../registry/services/publish.js';
import { revokeKey } from '../../registry/services/namespaces.js';
import { ADMIN, addProvider, demoRegistry, HOSTILE, LOOKUP_V1, LOOKUP_V2, publishSepTools, publishVersion, PUBLISHER, SEP_NS, type DemoRegistry } from './fixture.js';

const NS = 'dev.etdi.test.hostile';
describe('web interface pages (server-rendered, no browser)', () => {
  let demo: DemoRegistry;
  beforeAll(async () => {
    demo = await demoRegistry();
    const key = await addProvider(demo, NS);
    await revokeVersion(demo.running.app.registry.ctx, ADMIN, 'dev.etdi.demo.memory/search_nodes', '1.0.0', 'leaks <b>other</b> users’ nodes');
    await publishVersion(demo, key, NS, { name: 'hostile', title: HOSTILE, description: `${HOSTILE} javascript:alert(1)`, inputSchema: { type: 'object', properties: { [HOSTILE]: { type: 'string', description: HOSTILE } } } }, '1.0.0');
    await publishSepTools(demo);
  });
  afterAll(async () => {
    await demo?.stop();
    demo?.remove();
  });

  const PAGES = [
    ['home', '/'],
    ['search', '/?q=read'],
    ['tool', `/ui/tools/${DEMO_UPGRADE.toolId}`],
    ['version', `/ui/tools/${DEMO_UPGRADE.toolId}/versions/${DEMO_UPGRADE.to}`],
    ['compare', `/ui/tools/${DEMO_UPGRADE.toolId}/compare?from=${DEMO_UPGRADE.from}&to=${DEMO_UPGRADE.to}`],
    ['namespace', '/ui/namespaces/dev.etdi.demo.filesystem'],
    ['log', '/ui/log?inclusion=3&from=2&to=20'],
    ['lockfile review', '/ui/lockfile'],
    ['hostile tool', `/ui/tools/${NS}/hostile`],
    ['SEP-3140 tool', `/ui/tools/${SEP_NS}/lookup`],
    ['SEP-3140 version', `/ui/tools/${SEP_NS}/lookup/versions/1.0.0`],
    ['SEP-3140 compare', `/ui/tools/${SEP_NS}/lookup/compare?from=1.0.0&to=2.0.0`],
    ['hostile SEP-3140 tool', `/ui/tools/${SEP_NS}/hostile_sep`],
    ['hostile SEP-3140 version', `/ui/tools/${SEP_NS}/hostile_sep/versions/1.0.0`],
  ] as const;

  describe.each(PAGES)('the %s page', (_name, path) => {
    it('is HTML under 100 KB with the strict CSP, no inline script and no inline style', async () => {
      const res = await request(demo.running.app).get(path);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(Buffer.byteLength(res.text)).toBeLessThan(100 * 1024);
      // the only scripts are the bundle, by src; no style attribute or element
      expect(res.text.match(/<script\b[^>]*>/g) ?? []).toEqual(path.includes('/versions/') || path.startsWith('/ui/log') || path === '/ui/lockfile' ? ['<script type="module" src="/ui/assets/web.js">'] : []);
      // no element carries a style or event-handler attribute (escaped provider text has no tags)
      expect(res.text).not.toMatch(/<style\b|<[a-z][^>]*\s(style|on[a-z]+)=/i);
      expect(res.text).not.toContain('<script>window');
    });
  });

  it('serves the CSP that forbids inline script, eval and string-to-DOM sinks', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
    expect(CONTENT_SECURITY_POLICY).toContain("require-trusted-types-for 'script'");
  });

  it('lists the latest revocation on the home page, its reason as text', async () => {
    const res = await request(demo.running.app).get('/');
    const revocations = res.text.slice(res.text.indexOf('id="rev-h"'));
    expect(revocations).toContain('/ui/tools/dev.etdi.demo.memory/search_nodes/versions/1.0.0');
    expect(revocations).toContain('leaks &lt;b&gt;other&lt;/b&gt; users’ nodes');
  });

  it.each([
    ['a consistency check from size 0', '/ui/log?from=0&to=5', 400],
    ['a proof index that is not a number', '/ui/log?inclusion=abc', 400],
    ['an entry beyond the tree', '/ui/log?inclusion=99999', 400],
    ['a comparison without its second version', `/ui/tools/${DEMO_UPGRADE.toolId}/compare?from=1.0.0`, 400],
    ['a version that does not exist', `/ui/tools/${DEMO_UPGRADE.toolId}/compare?from=9.9.9&to=1.0.0`, 404],
    ['an unknown namespace', '/ui/namespaces/dev.etdi.nope', 404],
    ['a search text over 128 characters', `/?q=${'a'.repeat(129)}`, 400],
  ])('answers %s with an HTML error page carrying the stable code', async (_name, path, status) => {
    const res = await request(demo.running.app).get(path);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(res.text).toMatch(/<h1>\d{3}: <code>[A-Z_]+<\/code><\/h1>/);
  });

  it.each([
    ['revoked from before it signed: the version is void', 'dev.etdi.test.revokedbefore', '2020-01-01T00:00:00Z', 'revoked'],
    ['revoked from after it signed: the version stands', 'dev.etdi.test.revokedafter', '2099-01-01T00:00:00Z', 'active'],
  ])('a version whose signer key was %s, on the tool page as in the API', async (_name, ns, revokedFrom, expected) => {
    const key = await addProvider(demo, ns);
    await publishVersion(demo, key, ns, { name: 'lookup', inputSchema: { type: 'object' } }, '1.0.0');
    await revokeKey(demo.running.app.registry.ctx, ADMIN, ns, jwkThumbprint(key.publicJwk), { reason: 'rotated', revokedFrom });
    const api = await request(demo.running.app).get(`/v1/tools/${ns}/lookup/versions/1.0.0/status`);
    expect(api.body.status).toBe(expected);
    const page = await request(demo.running.app).get(`/ui/tools/${ns}/lookup`);
    const row = page.text.slice(page.text.indexOf('id="versions-h"'));
    expect(row).toContain(`<span class="badge ${expected === 'active' ? 'ok' : 'bad'}">${expected}</span>`);
  });

  it('answers an unknown tool with an HTML 404 carrying the stable code', async () => {
    const res = await request(demo.running.app).get('/ui/tools/dev.etdi.nope/missing');
    expect(res.status).toBe(404);
    expect(res.text).toContain('TOOL_NOT_FOUND');
  });

  it('serves the bundled browser script gzip-compressed, and an unbuilt name not at all', async () => {
    const res = await request(demo.running.app).get('/ui/assets/web.js').set('Accept-Encoding', 'gzip');
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect((await request(demo.running.app).get('/ui/assets/..%2Fregistry.db')).status).toBe(404);
  });
});

describe('SEP-3140 versions on the server-rendered pages', () => {
  let demo: DemoRegistry;
  beforeAll(async () => {
    demo = await demoRegistry({ seed: false });
    await publishSepTools(demo);
  });
  afterAll(async () => {
    await demo?.stop();
    demo?.remove();
  });
  const get = async (path: string): Promise<string> => {
    const res = await request(demo.running.app).get(path);
    expect(res.status, res.text.slice(0, 500)).toBe(200);
    return res.text;
  };
  const untag = (cell: string): string => cell.replace(/<[^>]+>/g, '').replaceAll('&quot;', '"');
  /** The trust label table's rows: label → [declared, read as]. */
  const trustRows = (text: string): Record<string, [string, string]> =>
    Object.fromEntries(
      [...text.matchAll(/<tr data-label="(\w+)">.*?<\/th><td>(.*?)<\/td><td>(.*?)<\/td><\/tr>/g)].map((m) => [m[1]!, [untag(m[2]!), untag(m[3]!)]]),
    );

  it('the version page shows the declaration, its format, publisher and server, validity, and no permissions', async () => {
    const text = await get(`/ui/tools/${SEP_NS}/lookup/versions/1.0.0`);
    expect(text).toContain(`SEP-3140 declaration, signed by <code class="publisher"><bdi>${PUBLISHER}</bdi></code> for <code class="server"><bdi>https://web.example.com/mcp</bdi></code>`);
    expect(text).toContain(`<div class="description"><bdi>${LOOKUP_V1}</bdi></div>`);
    expect(text).toContain('<p><strong>Title:</strong> <bdi>Dictionary lookup</bdi></p>');
    expect(text).toMatch(/<th scope="row"><code><bdi>word<\/bdi><\/code><\/th><td><code>string<\/code><\/td><td><strong>required<\/strong>/);
    expect(text).toMatch(/<dt>Publisher<\/dt><dd><code><bdi>https:\/\/web\.example\.com\/publisher\.json<\/bdi><\/code><\/dd>/);
    expect(text).toMatch(/<dt>Declared version<\/dt><dd><code><bdi>1<\/bdi><\/code> \(read as 1\.0\.0\)<\/dd>/);
    expect(text).toMatch(/<dt>Signing key id \(<code>kid<\/code>\)<\/dt><dd><code><bdi>web-test-2026<\/bdi><\/code><\/dd>/);
    expect(text).toMatch(/<dt>Issued<\/dt><dd><time datetime="[^"]+">/);
    expect(text).toMatch(/<dt>Expires<\/dt><dd><time datetime="[^"]+">/);
    expect(text).toContain('None: a SEP-3140 declaration names no permissions');
    expect(text).toContain('Your browser fetches the signed SEP-3140 declaration');
  });

  it('shows each trust label as declared and as read, a label left out as the most restrictive', async () => {
    const text = await get(`/ui/tools/${SEP_NS}/lookup/versions/1.0.0`);
    expect(text).toContain('A label the declaration leaves out, or a value outside SEP-3140');
    expect(trustRows(text)).toEqual({
      effect: ['"read-only"', 'read-only'],
      egress: ['"none"', 'none'],
      dataSensitivity: ['"public"', 'public'],
      reversible: ['not declared', 'false most restrictive'],
      idempotent: ['not declared', 'false most restrictive'],
    });
  });

  it('the tool page lists the versions and shows the latest declaration with its title and labels', async () => {
    const text = await get(`/ui/tools/${SEP_NS}/lookup`);
    expect(text).toContain('<p class="lead"><bdi>Dictionary lookup</bdi></p>');
    expect(text).toContain(`/ui/tools/${SEP_NS}/lookup/compare?from=1.0.0&amp;to=2.0.0`);
    expect(text).toContain(`<bdi>${LOOKUP_V2}</bdi>`);
    expect(text).toContain('SEP-3140 declaration, signed by');
    expect(trustRows(text).egress).toEqual(['"external"', 'external']);
  });

  it('the comparison of two SEP-3140 versions diffs the description and reports the riskier label as an escalation', async () => {
    const text = await get(`/ui/tools/${SEP_NS}/lookup/compare?from=1.0.0&to=2.0.0`);
    expect(text).toContain('<ins><bdi> and sends it to the vendor</bdi></ins>');
    expect(text).toMatch(/<li class="escalation"><strong>Escalation<\/strong> · Riskier trust label: <code>egress<\/code> none → <strong>external<\/strong><\/li>/);
    expect(text).toContain('Description changed (word diff below)');
    expect(text).not.toContain('Other fields changed'); // version and contentHash are not the definition
    expect(text).toContain('id="trust-h"');
  });

  it('the comparison of our manifest with a SEP-3140 declaration names the format change and compares the labels as a host reads them', async () => {
    const text = await get(`/ui/tools/${SEP_NS}/mixed/compare?from=1.0.0&to=2.0.0`);
    expect(text).toContain('Format changed: ');
    expect(text).toContain('Permissions removed: <code><bdi>files:read</bdi></code>');
    // our format has no labels: every one reads as most restrictive, so declared ones are safer
    expect(text).toContain('Safer trust label: <code>egress</code> external → none');
    expect(text).toContain('<ins><bdi> in your time zone</bdi></ins>');
  });

  it('escapes a hostile declaration\'s title and description', async () => {
    for (const path of [`/ui/tools/${SEP_NS}/hostile_sep`, `/ui/tools/${SEP_NS}/hostile_sep/versions/1.0.0`]) {
      const text = await get(path);
      expect(text).not.toContain('<script>window');
      expect(text).not.toMatch(/<img\b/);
      expect(text).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot; onmouseover=&quot;x');
    }
  });

  it('escapes hostile trust values and member names (the registry refuses them; a tampered store must still not inject markup)', () => {
    const out = trustLabelsView({ effect: HOSTILE, [HOSTILE]: true, egress: 'none' }).text;
    // no element but the view's own; the hostile text is there, as text
    expect(out).not.toMatch(/<script|<img|<[a-z][^>]*\s(style|on[a-z]+)=/i);
    expect(out).toContain('&lt;script&gt;');
    expect(out).toMatch(/<tr data-label="effect">.*most restrictive/);
    expect(out).toContain('Outside the vocabulary');
  });
});

describe('providerText', () => {
  it.each([
    ['markup', '<b onclick="x">', '&lt;b onclick=&quot;x&quot;&gt;'],
    ['right-to-left override', 'a\u202Eb', '[U+202E]'],
    ['zero-width space', 'a\u200Bb', '[U+200B]'],
    ['Cyrillic а posing as Latin a', 'p\u0430th', 'U+0430≈a'],
  ])('%s is escaped or marked', (_name, input, expected) => {
    const out = providerText(input).text;
    expect(out).toContain(expected);
    expect(out).not.toMatch(/[\u202E\u200B]/);
  });

  it('leaves accented Latin text alone', () => {
    expect(providerText('Déjà vu, naïve café').text).toBe('<bdi>Déjà vu, naïve café</bdi>');
  });
});

describe('wordDiff', () => {
  it('marks added and removed words and keeps the rest', () => {
    expect(wordDiff('read the file', 'read and upload the file')).toEqual([
      { kind: 'same', text: 'read ' },
      { kind: 'added', text: 'and upload ' },
      { kind: 'same', text: 'the file' },
    ]);
  });
  it('degrades to remove-all/add-all beyond its size bound instead of spending unbounded time', () => {
    const a = Array.from({ length: 3000 }, (_, i) => `a${i}`).join(' ');
    const b = Array.from({ length: 3000 }, (_, i) => `b${i}`).join(' ');
    expect(wordDiff(a, b).map((p) => p.kind)).toEqual(['removed', 'added']);
  });
});
