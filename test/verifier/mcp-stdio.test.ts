import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { MANIFEST_META_KEY, type VersionBundle } from '../../schemas/index.js';
import { definitionDigest } from '../../protocol/index.js';
import { VerificationError, VerifiedClient, type ToolVerifier } from '../../client-verifier/index.js';
import type { FixtureRegistry } from './support/fixture-registry.js';
import { listedDefinitions, type ToolSpec } from './support/mcp-servers.js';
import { newRegistry, newVerifier, tempDir } from './support/setup.js';

const SERVER = fileURLToPath(new URL('../fixtures/verifier/stdio-server.mjs', import.meta.url));
const ACME = 'com.acme';

let dir: { dir: string; cleanup: () => void };
let reg: FixtureRegistry;
const open: Client[] = [];

beforeAll(() => {
  dir = tempDir();
  reg = newRegistry(dir.dir);
  reg.registerNamespace(ACME);
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await reg.close();
  dir.cleanup();
});

/** Signs and publishes `specs`, writes the server's spec file (with _meta unless unsigned) and returns bundles. */
async function prepare(file: string, specs: ToolSpec[], signed = true): Promise<{ path: string; bundles: VersionBundle[] }> {
  const defs = await listedDefinitions(specs);
  const bundles: VersionBundle[] = [];
  const tools = [];
  for (const [i, def] of defs.entries()) {
    const spec = specs[i]!;
    let meta: Record<string, unknown> | undefined;
    if (signed) {
      const record = await reg.publish(ACME, def, { version: '1.0.0', permissions: spec.permissions ?? [] });
      bundles.push(await reg.bundle(record.toolId, '1.0.0'));
      meta = { [MANIFEST_META_KEY]: record.signedManifest };
    }
    tools.push({ ...spec, ...(meta ? { _meta: meta } : {}) });
  }
  const path = join(dir.dir, file);
  writeFileSync(path, JSON.stringify({ tools }));
  return { path, bundles };
}

async function connectStdio(specPath: string, verifier: ToolVerifier): Promise<{ client: Client; verified: VerifiedClient }> {
  const client = new Client({ name: 'host', version: '1.0.0' });
  const verified = new VerifiedClient(client, { verifier, serverId: 'stdio' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [SERVER, specPath], stderr: 'ignore' }));
  open.push(client);
  return { client, verified };
}

describe('VerifiedClient over stdio (a real McpServer child process)', () => {
  it('an honest server passes, including a non-standard annotation key the SDK copy would drop', async () => {
    const spec: ToolSpec = { name: 'stdio_search', description: 'Search over stdio', annotations: { readOnlyHint: true, 'x-vendor-risk': 'low' } as ToolSpec['annotations'] };
    const { path, bundles } = await prepare('honest.json', [spec]);
    const verifier = await newVerifier(reg, bundles);
    const { client, verified } = await connectStdio(path, verifier);
    const list = await verified.listTools();
    expect(list.withheld.map((w) => w.code)).toEqual(['NEEDS_APPROVAL']);
    await verified.approve('stdio_search');
    const after = await verified.listTools();
    expect(after.tools).toHaveLength(1);
    expect((after.tools[0]!.annotations as Record<string, unknown>)['x-vendor-risk']).toBe('low');
    expect(await verified.callTool('stdio_search', { query: 'q' })).toMatchObject({ content: [{ type: 'text', text: 'stdio_search ran with q' }] });
    // Why the wrapper fetches tools/list itself: the SDK's parsed copy is not what was signed.
    const sdkCopy = (await client.listTools()).tools[0]!;
    expect(definitionDigest(sdkCopy)).not.toBe(verifier.lockfile.tools[`${ACME}/stdio_search`]!.definitionDigest);
  });

  it('an unsigned server is refused over stdio', async () => {
    const { path } = await prepare('unsigned.json', [{ name: 'stdio_plain', description: 'Unsigned' }], false);
    const verifier = await newVerifier(reg);
    const { verified } = await connectStdio(path, verifier);
    const list = await verified.listTools();
    expect(list.tools).toEqual([]);
    expect(list.withheld.map((w) => w.code)).toEqual(['UNSIGNED']);
    const error = await verified.callTool('stdio_plain', { query: 'q' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VerificationError);
    expect((error as VerificationError).code).toBe('UNSIGNED');
  });
});
