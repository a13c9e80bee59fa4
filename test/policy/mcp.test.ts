/**
 * The ETDI policy examples observed where the agent sees them: through the verifying MCP SDK
 * wrapper (client-verifier/mcp), real McpServer over the SDK's in-memory transport, signed
 * manifests carrying the tool policies, and the real registry over HTTP for the publish refusal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VerificationError, type VerifiedClient } from '../../client-verifier/index.js';
import { PolicyEngine, type PolicyEngineOptions } from '../../client-verifier/policy/index.js';
import { generateKeyPair, registrationRequest, signManifest, tokenRequest } from '../../protocol/index.js';
import { createApp, SqliteStore } from '../../registry/index.js';
import { MANIFEST_META_KEY, MANIFEST_TYPE, type ToolPolicy, type VersionBundle } from '../../schemas/index.js';
import type { FixtureRegistry } from '../verifier/support/fixture-registry.js';
import { buildServer, connectVerified, listedDefinitions, type BuiltServer, type ToolSpec } from '../verifier/support/mcp-servers.js';
import { newRegistry, newVerifier, tempDir } from '../verifier/support/setup.js';

const NS = 'com.example.policy';
const HOURS = '@id("business-hours") permit (principal, action == Action::"invoke", resource) when { context.now.hour >= 9 && context.now.hour < 17 };';
const NO_SENSITIVE =
  '@id("allow") permit (principal, action, resource);\n@id("no-sensitive") forbid (principal, action, resource) when { context.arguments has classification && context.arguments.classification == "sensitive" };';

interface PolicyTool extends ToolSpec {
  policy?: string;
}

const TOOLS: PolicyTool[] = [
  { name: 'office_search', description: 'Search, office hours only', annotations: { readOnlyHint: true }, permissions: ['index:read'], policy: HOURS },
  { name: 'upload', description: 'Upload a document to a public bucket', annotations: { openWorldHint: true }, permissions: ['bucket:write'], policy: NO_SENSITIVE },
  { name: 'fetch_page', description: 'Fetch a web page', annotations: { readOnlyHint: true, openWorldHint: true }, permissions: ['web:read'] },
  { name: 'drop_table', description: 'Drop a database table', annotations: { destructiveHint: true }, permissions: ['db:admin'] },
  { name: 'notes', description: 'Read or write notes', annotations: { readOnlyHint: false }, permissions: ['notes:read', 'notes:write'] },
];

let dir: { dir: string; cleanup: () => void };
let reg: FixtureRegistry;
let server: BuiltServer;
let bundles: VersionBundle[];

beforeAll(async () => {
  dir = tempDir();
  reg = newRegistry(dir.dir);
  reg.registerNamespace(NS);
  const definitions = await listedDefinitions(TOOLS);
  bundles = [];
  const metas = new Map<string, Record<string, unknown>>();
  for (const [i, def] of definitions.entries()) {
    const spec = TOOLS[i]!;
    const policy: ToolPolicy | undefined = spec.policy === undefined ? undefined : { language: 'cedar', policies: spec.policy };
    const record = await reg.publish(NS, def, { version: '1.0.0', permissions: spec.permissions ?? [], ...(policy ? { policy } : {}) });
    bundles.push(await reg.bundle(record.toolId, '1.0.0'));
    metas.set(spec.name, { [MANIFEST_META_KEY]: record.signedManifest });
  }
  server = buildServer(TOOLS, metas);
});
afterAll(async () => {
  await reg.close();
  dir.cleanup();
});

/** A fresh verified client to a fresh server with the same signed tools, every tool approved. */
async function connect(options: PolicyEngineOptions, approve: Record<string, string[]> = {}): Promise<{ client: VerifiedClient; calls: string[] }> {
  const metas = new Map<string, Record<string, unknown>>();
  for (const spec of TOOLS) metas.set(spec.name, server.tools.get(spec.name)!._meta as Record<string, unknown>);
  const fresh = buildServer(TOOLS, metas);
  const verifier = await newVerifier(reg, bundles);
  const policy = await PolicyEngine.create(options);
  const client = await connectVerified(fresh.server, verifier, { provider: NS, policy, session: { id: 'chat-1' }, principal: { id: 'assistant' } });
  await client.listTools();
  for (const spec of TOOLS) await client.approve(spec.name, approve[spec.name] ? { permissions: approve[spec.name] } : {});
  return { client, calls: fresh.calls };
}

async function denied(p: Promise<unknown>): Promise<VerificationError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(VerificationError);
  expect((error as VerificationError).code).toBe('POLICY_DENIED');
  return error as VerificationError;
}

const at = (iso: string): (() => Date) => () => new Date(iso);

describe('policies through the verifying MCP client', () => {
  describe('when a tool is allowed only in a time window (policy in its signed manifest)', () => {
    it('runs it at 10:00 and refuses it at 20:00 before the server sees the call', async () => {
      const morning = await connect({ clock: at('2026-11-25T10:00:00Z') });
      await morning.client.callTool('office_search', { query: 'q4' });
      const evening = await connect({ clock: at('2026-11-25T20:00:00Z') });
      const error = await denied(evening.client.callTool('office_search', { query: 'q4' }));
      expect(error.evidence.policyIds).toEqual(['tool:(no-permit)']);
      expect(morning.calls).toEqual(['office_search:q4']);
      expect(evening.calls).toEqual([]);
    });
  });

  describe('when a tool may not receive data marked sensitive', () => {
    it('refuses the sensitive call with the forbid that decided', async () => {
      const { client, calls } = await connect({});
      await client.callTool('upload', { query: 'press release', classification: 'public' });
      const error = await denied(client.callTool('upload', { query: 'salaries.xlsx', classification: 'sensitive' }));
      expect(error.evidence.policyIds).toEqual(['tool:no-sensitive']);
      expect(error.message).toMatch(/forbidden by tool:no-sensitive/);
      expect(calls).toEqual(['upload:press release']);
    });

    it('refuses a call whose data the host labelled sensitive (dataLabels through the wrapper)', async () => {
      const { client, calls } = await connect({
        policies: [
          { text: '@id("allow") permit (principal, action, resource);' },
          { text: '@id("no-labelled-sensitive") forbid (principal, action, resource) when { context.dataLabels.contains("sensitive") };' },
        ],
      });
      const error = await denied(client.callTool('fetch_page', { query: 'wiki' }, { dataLabels: ['sensitive', 'pii'] }));
      expect(error.evidence.policyIds).toEqual(['host:no-labelled-sensitive']);
      await client.callTool('fetch_page', { query: 'news' }, { dataLabels: ['public'] });
      expect(calls).toEqual(['fetch_page:news']);
    });
  });

  describe('when a low-privilege tool calls a high-privilege one', () => {
    it('refuses drop_table called from fetch_page (host rule and host Cedar policy)', async () => {
      const { client, calls } = await connect({
        policies: [
          { text: '@id("allow") permit (principal, action, resource);' },
          {
            text: '@id("no-admin-below-web") forbid (principal, action, resource) when { resource.permissions.contains("db:admin") && context.callChain.containsAny(["com.example.policy/fetch_page"]) };',
          },
        ],
        callChain: { rules: [{ tool: `${NS}/drop_table`, blockedCallers: [`${NS}/fetch_page`] }] },
      });
      const error = await denied(client.callTool('drop_table', { query: 'users' }, { callChain: [`${NS}/fetch_page`] }));
      expect(error.evidence.policyIds).toEqual(expect.arrayContaining(['call-chain:blocked-caller', 'host:no-admin-below-web']));
      await client.callTool('drop_table', { query: 'tmp' });
      expect(calls).toEqual(['drop_table:tmp']);
    });
  });

  describe('when the call chain is circular or too deep', () => {
    it.each([
      ['a circular chain', [`${NS}/notes`, `${NS}/fetch_page`], 'call-chain:circular'],
      ['a chain deeper than the maximum', ['a.b/1', 'a.b/2', 'a.b/3'], 'call-chain:max-depth'],
    ])('refuses %s', async (_name, callChain, id) => {
      const { client, calls } = await connect({ callChain: { maxDepth: 2 } });
      const error = await denied(client.callTool('notes', { query: 'x' }, { callChain }));
      expect(error.evidence.policyIds).toEqual([id]);
      expect(calls).toEqual([]);
    });
  });

  describe('when the rate limit is exceeded', () => {
    it('refuses the third call in the session', async () => {
      const { client, calls } = await connect({ rateLimits: [{ id: 'fetches', tool: `${NS}/fetch_page`, maxCalls: 2, windowSeconds: 60 }] });
      await client.callTool('fetch_page', { query: '1' });
      await client.callTool('fetch_page', { query: '2' });
      const error = await denied(client.callTool('fetch_page', { query: '3' }));
      expect(error.evidence.policyIds).toEqual(['rate-limit:fetches']);
      await client.callTool('fetch_page', { query: 'other session' }, { session: { id: 'chat-2' } });
      expect(calls).toEqual(['fetch_page:1', 'fetch_page:2', 'fetch_page:other session']);
    });
  });

  describe('when the call needs a permission the user did not approve', () => {
    it('refuses a write on a tool approved for reading only', async () => {
      const { client, calls } = await connect({}, { notes: ['notes:read'] });
      await client.callTool('notes', { query: 'read' }, { requiredPermissions: ['notes:read'] });
      const error = await denied(client.callTool('notes', { query: 'write' }));
      expect(error.evidence.policyIds).toEqual(['pin:unapproved-permission']);
      expect(calls).toEqual(['notes:read']);
    });
  });
});

describe('an invalid policy at publish, through the real registry over HTTP', () => {
  const ORIGIN = 'https://registry.test';
  const ADMIN = 'admin-token-for-policy-tests-0123456';
  let http: Server;
  let url: string;
  let store: SqliteStore;
  let dbDir: string;

  beforeAll(async () => {
    dbDir = mkdtempSync(join(tmpdir(), 'etdi-policy-registry-'));
    store = SqliteStore.open({ path: join(dbDir, 'registry.db') });
    const app = await createApp({ store, config: { origin: ORIGIN, logOrigin: 'registry.test/log', adminToken: ADMIN, requestLog: false, rateLimit: false, errorLog: () => undefined } });
    http = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await store.close();
    rmSync(dbDir, { recursive: true, force: true });
  });

  async function post(path: string, body: unknown, token: string): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it('answers 422 POLICY_INVALID with the Cedar diagnostics, and stores nothing', async () => {
    const key = generateKeyPair();
    const now = (): string => new Date().toISOString();
    const registered = await post('/v1/namespaces', await registrationRequest(key.privateJwk, { registry: ORIGIN, namespace: NS, issuedAt: now() }, 'admin-grant'), ADMIN);
    expect(registered.status, JSON.stringify(registered.json)).toBeLessThan(300);
    const token = (await post('/v1/tokens', await tokenRequest(key.privateJwk, { registry: ORIGIN, namespace: NS, issuedAt: now() }), '')).json['access_token'] as string;
    const [definition] = await listedDefinitions([TOOLS[0]!]);
    const manifestWith = (policies: string): Promise<unknown> =>
      signManifest(
        {
          type: MANIFEST_TYPE,
          toolId: `${NS}/${TOOLS[0]!.name}`,
          version: '1.0.0',
          provider: NS,
          definition: definition as never,
          permissions: ['index:read'],
          policy: { language: 'cedar', policies },
          issuedAt: new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        },
        [key.privateJwk],
      );
    const refused = await post('/v1/tools', await manifestWith('permit (principal, action, resource) when { context.now.hour < };'), token);
    expect(refused.status).toBe(422);
    expect(refused.json['code']).toBe('POLICY_INVALID');
    expect(JSON.stringify(refused.json)).toMatch(/unexpected token `}`/);
    const versions = `${url}/v1/tools/${NS}/${TOOLS[0]!.name}/versions`;
    expect((await fetch(versions)).status).toBe(404);
    // the same manifest with a valid policy is accepted: the refusal was the policy's
    expect((await post('/v1/tools', await manifestWith(HOURS), token)).status).toBe(201);
    expect((await fetch(versions)).status).toBe(200);
  });
});
