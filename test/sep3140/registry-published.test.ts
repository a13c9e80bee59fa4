/**
 * A SEP-3140 server built with @etdi/provider whose declarations its publisher also published to
 * the registry (POST /v1/declarations), used by a host that trusts the registry only (no
 * discovery): the trust labels it verified there are inputs of the host's Cedar policy
 * (`context.trust`, basis `registry`) and of risk-graduated approval, as on the direct path.
 * The real McpServer and SDK client (in-memory transport), the real registry over loopback HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwkThumbprint } from '../../protocol/index.js';
import { Ed25519PublicJwkSchema } from '../../schemas/index.js';
import { RegistryClient, ToolVerifier, VerificationError, createLogChecker, type TrustRootConfig } from '../../client-verifier/index.js';
import { PolicyEngine } from '../../client-verifier/policy/index.js';
import { ORIGIN, startRegistry, type RunningRegistry } from '../verifier/support/real-registry.js';
import { connectVerified } from '../verifier/support/mcp-servers.js';
import { PUBLISHER_NS, buildDeclaredServer, newWorld, signerOf, testDiscovery, type World } from './support.js';

const SERVER_URI = 'https://mcp.publisher.example/mcp';
const READ = { name: 'read_resource', description: 'Reads a resource', version: '1', trust: { effect: 'read-only', egress: 'none', dataSensitivity: 'internal' } };
const SEND = { name: 'send_email', description: 'Sends an email', version: '1', trust: { effect: 'writes-data', egress: 'external' } };

let registry: RunningRegistry;
let trust: TrustRootConfig;
let world: World;
let built: ReturnType<typeof buildDeclaredServer>;

async function verifier(extra: Partial<ConstructorParameters<typeof ToolVerifier>[0]> = {}): Promise<ToolVerifier> {
  const client = new RegistryClient({ baseUrl: registry.url, timeoutMs: 5000 });
  return new ToolVerifier({ trustRoot: trust, log: await createLogChecker({ logKey: trust.logKey, registry: client }), registry: client, ...extra });
}

beforeAll(async () => {
  registry = await startRegistry();
  const publisher = await registry.register(PUBLISHER_NS);
  world = newWorld([READ, SEND], signerOf(publisher.key, 'pub-1'));
  built = buildDeclaredServer(world, SERVER_URI);
  // what `etdi sign --sep3140 --publish-file` writes, from the server's own manifest and declarations
  const res = await fetch(`${registry.url}/v1/declarations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${publisher.token}` },
    body: JSON.stringify({ signed: await built.declarations.manifest(), declarations: await built.declarations.declarations(), signingKey: { ...publisher.key.publicJwk, kid: 'pub-1' } }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  const jwks = await new RegistryClient({ baseUrl: registry.url }).getJwks();
  trust = {
    issuer: ORIGIN,
    audience: 'etdi-clients',
    jwks,
    pinnedKeyIds: jwks.keys.map((k) => jwkThumbprint(Ed25519PublicJwkSchema.parse(k))),
    logKey: registry.log.verifierKey(),
  };
}, 30_000);
afterAll(async () => {
  await registry.close();
});

describe('trust labels of a SEP-3140 tool verified from the registry', () => {
  it('are context.trust in the host policy: external egress forbidden by label, POLICY_DENIED before the server sees the call', async () => {
    const policy = await PolicyEngine.create({
      policies: [
        { id: 'allow', text: 'permit (principal, action, resource);' },
        { id: 'no-external-egress', text: 'forbid (principal, action, resource) when { context has trust && context.trust.egress == "external" && context.trust.basis == "registry" };' },
      ],
    });
    const verified = await connectVerified(built.server, await verifier(), { provider: PUBLISHER_NS, policy });
    const listed = await verified.listTools();
    expect(listed.tools.map((t) => t.name).sort()).toEqual([]); // withheld until approved
    await verified.approve('read_resource');
    await verified.approve('send_email');
    expect(await verified.callTool('read_resource', { query: 'ok' })).toMatchObject({ content: [{ text: 'read_resource ran with ok' }] });
    const denied = await verified.callTool('send_email', { query: 'secret' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(denied).toBeInstanceOf(VerificationError);
    expect(denied).toMatchObject({ code: 'POLICY_DENIED', evidence: { policyIds: [expect.stringMatching(/^host:no-external-egress/)] } });
    expect(world.calls).toEqual(['read_resource:ok']);
  });

  it('drive risk-graduated approval: the read-only tool is pinned without asking, the external-egress one is asked about', async () => {
    const riskApproval = { approveOnFirstUse: { effect: ['read-only' as const], egress: ['none' as const] } };
    const v = await verifier({ declarations: { trust: {}, fetch: testDiscovery(), riskApproval } });
    const [read, send] = await built.declarations.declarations();
    const approved = await v.verify(read, { provider: PUBLISHER_NS });
    expect(approved.decision).toMatchObject({ status: 'approved', auto: 'risk-tier' });
    expect(v.lockfile.tools[`${PUBLISHER_NS}/read_resource`]).toMatchObject({ version: '1.0.0' });
    expect((await v.verify(send, { provider: PUBLISHER_NS })).decision).toMatchObject({ status: 'needs-approval', code: 'NEEDS_APPROVAL' });
  });
});
