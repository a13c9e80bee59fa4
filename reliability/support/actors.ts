/**
 * Request bodies a real provider sends (registration, token and key-add statements, signed
 * manifests), built with real Ed25519 keys. Shared by the reliability scripts and their CI-sized
 * tests; transport-free so the same bodies go through supertest, node:http or in-process calls.
 */
import {
  canonicalBytes,
  generateKeyPair,
  keyAddRequest,
  registrationRequest,
  signBytes,
  signManifest,
  tokenRequest,
  type GeneratedKeyPair,
} from '@etdi/protocol';
import {
  MANIFEST_TYPE,
  type SignedManifest,
  type ToolDefinition,
  type ToolManifest,
} from '@etdi/schemas';


export interface StatementFrame {
  /** The registry's origin (its `iss`): statements name it. */
  origin: string;
  /** Milliseconds since the epoch, as the registry's clock sees it. */
  nowMs: number;
}

export async function registrationBody(
  frame: StatementFrame,
  namespace: string,
  key: GeneratedKeyPair,
  verification: 'well-known' | 'admin-grant' = 'admin-grant',
): Promise<Record<string, unknown>> {
  return { ...(await registrationRequest(key.privateJwk, statementFrame(frame, namespace), verification)) };
}

export async function tokenBody(frame: StatementFrame, namespace: string, key: GeneratedKeyPair): Promise<Record<string, unknown>> {
  return { ...(await tokenRequest(key.privateJwk, statementFrame(frame, namespace))) };
}

export async function keyAddBody(
  frame: StatementFrame,
  namespace: string,
  authorizer: GeneratedKeyPair,
  fresh: GeneratedKeyPair,
): Promise<Record<string, unknown>> {
  return { ...(await keyAddRequest(authorizer.privateJwk, fresh.privateJwk, statementFrame(frame, namespace))) };
}

const statementFrame = (frame: StatementFrame, namespace: string) => ({
  registry: frame.origin,
  namespace,
  issuedAt: new Date(frame.nowMs).toISOString(),
});

export function syntheticDefinition(name: string, seed: number): ToolDefinition {
  return {
    name,
    title: `Tool ${name}`,
    description: `Reads and summarises records of kind ${seed % 97} from the provider's store. Returns at most limit records, newest first; never writes.`,
    inputSchema: {
      type: 'object',
      properties: {
        path: { type: 'string', description: 'Record path, relative to the workspace root' },
        limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
        filter: { type: 'object', properties: { tag: { type: 'string' }, since: { type: 'string', format: 'date-time' } } },
      },
      required: ['path'],
      additionalProperties: false,
      $schema: 'http://json-schema.org/draft-07/schema#',
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  };
}

export function manifestOf(
  namespace: string,
  definition: ToolDefinition,
  version: string,
  issuedAt: string,
  permissions: string[] = ['records:read'],
): ToolManifest {
  return { type: MANIFEST_TYPE, toolId: `${namespace}/${definition.name}`, version, provider: namespace, definition, permissions, issuedAt };
}

export function signed(key: GeneratedKeyPair, manifest: ToolManifest): Promise<SignedManifest> {
  return signManifest(manifest, [key.privateJwk]);
}

/**
 * Signs JCS(manifest) without checking the manifest first (signManifest refuses invalid ones):
 * how an attacker makes a correctly signed envelope around a document the schema forbids.
 */
export async function signedUnchecked(key: GeneratedKeyPair, manifest: unknown): Promise<{ manifest: unknown; signatures: { keyId: string; alg: 'EdDSA'; sig: string }[] }> {
  return { manifest, signatures: [{ keyId: key.keyId, alg: 'EdDSA', sig: await signBytes(key.privateJwk, canonicalBytes(manifest)) }] };
}

/** A provider of the scale/load/crash scripts: its namespace and one key (reused for every manifest). */
export interface Provider {
  namespace: string;
  key: GeneratedKeyPair;
}

export function providerName(i: number): string {
  return `io.reliability.p${i}`;
}

export function newProvider(i: number): Provider {
  return { namespace: providerName(i), key: generateKeyPair() };
}

/** Version n (0-based) of a tool: strictly increasing semver (1.0.0, 1.0.1, ... 1.1.0 ...). */
export function versionOf(n: number): string {
  return `1.${Math.floor(n / 1000)}.${n % 1000}`;
}
