import request from 'supertest';
import { jwkThumbprint } from '../../protocol/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, providerText, wordDiff } from '../../registry/web/index.js';
import { DEMO_UPGRADE } from '../../scripts/serve.js';
import { revokeVersion } from '../../registry/services/publish.js';
import { revokeKey } from '../../registry/services/namespaces.js';
import { ADMIN, addProvider, demoRegistry, publishVersion, type DemoRegistry } from './fixture.js';

const NS = 'dev.etdi.test.hostile';
const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror=alert(1)>" onmouseover="x';

describe('web interface pages (server-rendered, no browser)', () => {
  let demo: DemoRegistry;
  beforeAll(async () => {
    demo = await demoRegistry();
    const key = await addProvider(demo, NS);
    await revokeVersion(demo.running.app.registry.ctx, ADMIN, 'dev.etdi.demo.memory/search_nodes', '1.0.0', 'leaks <b>other</b> users’ nodes');
    await publishVersion(demo, key, NS, { name: 'hostile', title: HOSTILE, description: `${HOSTILE} javascript:alert(1)`, inputSchema: { type: 'object', properties: { [HOSTILE]: { type: 'string', description: HOSTILE } } } }, '1.0.0');
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
