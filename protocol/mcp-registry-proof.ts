import type { Ed25519PrivateJwk, Ed25519PublicJwk, McpRegistryProof } from '@etdi/schemas';
import { defaultBackend, type Ed25519Backend } from './ed25519.js';
import { toBase64, toHex, utf8 } from './encoding.js';
import { privateKeySeed, publicKeyBytes } from './jwk.js';

/**
 * The official MCP Registry's domain proof (github.com/modelcontextprotocol/registry,
 * internal/api/handlers/v0/auth/{http,dns,common}.go), made with an etdi key: the same key
 * proves a domain there and here.
 */

/** Where the official registry's HTTP method reads the key record. */
export const MCP_REGISTRY_AUTH_PATH = '/.well-known/mcp-registry-auth';

/**
 * The record the official registry looks for, in a TXT record of the domain or as the body of
 * MCP_REGISTRY_AUTH_PATH: version tag, algorithm, standard base64 of the 32-byte public key
 * (its pattern, `v=MCPv1;\s*k=<algo>;\s*p=<base64>`, is matched anywhere in the text).
 */
export const MCP_REGISTRY_RECORD_PATTERN = /v=MCPv1;\s*k=([^;]+);\s*p=([A-Za-z0-9+/=]+)/;

/** `v=MCPv1; k=ed25519; p=<base64>`: the record to publish for `jwk`. */
export function mcpRegistryRecord(jwk: Pick<Ed25519PublicJwk, 'x'>): string {
  return `v=MCPv1; k=ed25519; p=${toBase64(publicKeyBytes({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }))}`;
}

/**
 * The proof the official registry's `mcp-publisher login http|dns` sends: the current time,
 * RFC 3339 to the second, and the hex Ed25519 signature of its UTF-8 bytes. The official
 * registry accepts it within 15 s of its clock, and so does this one.
 */
export async function mcpRegistryProof(
  key: Ed25519PrivateJwk,
  method: McpRegistryProof['method'],
  domain: string,
  at: Date = new Date(),
  backend: Ed25519Backend = defaultBackend,
): Promise<McpRegistryProof> {
  const timestamp = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const signature = await backend.sign(privateKeySeed(key), utf8(timestamp));
  return { method, domain, timestamp, signed_timestamp: toHex(signature) };
}
