import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fsckRegistry, SqliteStore, startServer } from '../../registry/index.js';
import { DEMO_SEP3140, seedDemo } from '../../scripts/serve.js';

describe('serve --demo', () => {
  describe('when started twice on the same data dir', () => {
    it('publishes the real tools once, signed with a 0600 demo key, and the log agrees with the tables', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'etdi-demo-'));
      try {
        const open = () => SqliteStore.open({ path: join(dir, 'registry.db') });
        const first = await startServer({ store: open(), port: 0, config: { requestLog: false } });
        const seeded = await seedDemo(first, dir);
        expect(seeded.published).toBeGreaterThan(20);
        expect(seeded.existing).toBe(0);
        const record = await fetch(`${first.url}/v1/tools/${seeded.example}/versions/1.0.0/status`);
        expect((await record.json()).status).toBe('active');
        // both formats: the `everything` server's tools as a SEP-3140 publisher signs them
        expect(seeded.namespaces).toContain(DEMO_SEP3140.namespace);
        const declared = await (await fetch(`${first.url}/v1/tools/${DEMO_SEP3140.namespace}/echo/versions/1.0.0/bundle`)).json();
        expect(declared.record.signedDeclaration.manifest.publisher).toBe(DEMO_SEP3140.publisher);
        expect(declared.record.signedDeclaration.declaration.trust).toEqual({ effect: 'read-only', egress: 'none', idempotent: true });
        expect(declared.status.status).toBe('active');
        await first.close();
        expect(statSync(join(dir, 'demo-key.jwk')).mode & 0o777).toBe(0o600);

        const store = open();
        const second = await startServer({ store, port: 0, config: { requestLog: false } });
        // the restart finds every tool there (serve says "already published, nothing to do")
        expect(await seedDemo(second, dir)).toMatchObject({ published: 0, existing: seeded.published });
        expect((await fsckRegistry(store)).ok).toBe(true);
        await second.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
