/**
 * A registry whose origin (its attestations' issuer) is not the URL the host typed, as behind a
 * reverse proxy (`etdi serve --origin`). The CLI once guessed the issuer from /openapi.json read
 * through a 64 KiB cap (the document is larger), fell back to the typed URL, and then refused
 * every valid tool as ATTESTATION_INVALID (issue 16). The issuer now comes from the registry's
 * small metadata document, and failing to read it is an error, never a fallback.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etdi, publishWithCli, realTool, startRegistry, type RegistryProcess } from '../support/processes.js';

const ORIGIN = 'https://registry.example';
let dir: string;
let registry: RegistryProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'etdi-origin-'));
  registry = await startRegistry(join(dir, 'data'), dir, { args: ['--origin', ORIGIN] });
  await publishWithCli(registry.url, dir, 'com.acme', '1.0.0', [realTool('read_file')]);
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a registry served under another origin than the URL typed', () => {
  it('is pinned with its own issuer, and its valid tools verify (not ATTESTATION_INVALID)', async () => {
    const init = await etdi(['trust', 'init', '--registry', registry.url, '--out', 'etdi.lock.trust.json', '--json'], dir);
    expect(init.code, init.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'etdi.lock.trust.json'), 'utf8'))).toMatchObject({ registry: registry.url, issuer: ORIGIN });
    writeFileSync(join(dir, 'read_file.json'), JSON.stringify(realTool('read_file')));
    const verify = await etdi(['verify', '--registry', registry.url, '--lockfile', 'etdi.lock.json', '--definition', 'read_file.json', '--provider', 'com.acme', '--json'], dir);
    expect(verify.stdout).not.toContain('ATTESTATION_INVALID');
    expect(verify.stdout).toContain('NEEDS_APPROVAL');
  });

  it('refuses to guess when the registry serves no metadata document (exit 2, nothing pinned)', async () => {
    const init = await etdi(['trust', 'init', '--registry', `${registry.url}/not-a-registry`, '--out', 'other.trust.json', '--json'], dir);
    expect(init.code).toBe(2);
    expect(JSON.parse(init.stdout)).toMatchObject({ ok: false, error: { code: 'REGISTRY_UNAVAILABLE' } });
  });
});
