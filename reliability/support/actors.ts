/**
 * Request bodies a real provider sends (registration, token and key-add statements, signed
 * manifests), built with real Ed25519 keys. Shared by the reliability scripts and their CI-sized
 * tests; transport-free so the same bodies go through supertest, node:http or in-process calls.
 */
import { randomBytes } from 'node:crypto';
import { canonicalBytes, generateKeyPair, signBytes, signManifest, type GeneratedKeyPair } from '../../protocol/index.js';
import {
  KEY_ADD_STATEMENT_TYPE,
  MANIFEST_TYPE,
  REGISTRATION_STATEMENT_TYPE,
  TOKEN_STATEMENT_TYPE,
  type SignedManifest,
  type ToolDefinition,
  type ToolManifest,
} from '../../schemas/index.js';

export const nonce = (): string => randomBytes(12).toString('base64url');

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
  const statement = {
    type: REGISTRATION_STATEMENT_TYPE,
    registry: frame.origin,
    namespace,
    keyId: key.keyId,
    issuedAt: new Date(frame.nowMs).toISOString(),
    nonce: nonce(),
  };
  return { statement, jwk: key.publicJwk, signature: await signBytes(key.privateJwk, canonicalBytes(statement)), verification };
}

export async function tokenBody(frame: StatementFrame, namespace: string, key: GeneratedKeyPair): Promise<Record<string, unknown>> {
  const statement = {
    type: TOKEN_STATEMENT_TYPE,
    registry: frame.origin,
    namespace,
    keyId: key.keyId,
    issuedAt: new Date(frame.nowMs).toISOString(),
    nonce: nonce(),
  };
  return { statement, signature: await signBytes(key.privateJwk, canonicalBytes(statement)) };
}

export async function keyAddBody(
  frame: StatementFrame,
  namespace: string,
  authorizer: GeneratedKeyPair,
  fresh: GeneratedKeyPair,
): Promise<Record<string, unknown>> {
  const statement = {
    type: KEY_ADD_STATEMENT_TYPE,
    registry: frame.origin,
    namespace,
    keyId: fresh.keyId,
    jwk: fresh.publicJwk,
    authorizedBy: authorizer.keyId,
    issuedAt: new Date(frame.nowMs).toISOString(),
    nonce: nonce(),
  };
  const bytes = canonicalBytes(statement);
  return { statement, signature: await signBytes(authorizer.privateJwk, bytes), proof: await signBytes(fresh.privateJwk, bytes) };
}

/**
 * A tool definition shaped like the reference MCP servers' (description, object input schema
 * with typed properties, annotations), about 600 bytes: the size that matters for database size
 * per version. `seed` makes each tool's text distinct so search has something to find.
 */
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
