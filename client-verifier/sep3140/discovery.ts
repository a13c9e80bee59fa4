/**
 * SEP-3140 "Signing-key and publisher discovery": the server's RFC 9728 Protected Resource
 * Metadata names the publisher's JWKS (`mcp_signing_jwks_uri`). Portable: the fetching itself,
 * with the SSRF protections the SEP requires (https only, no private or link-local address, the
 * address checked where the connection is made, no redirect to another host, size and time
 * limits), is a DiscoveryFetch; `createDiscoveryFetch` (`@etdi/client/node`) is Node's.
 */
import {
  DeclarationsJwksSchema,
  DeclarationsSigningKeySchema,
  PROTECTED_RESOURCE_METADATA_PATH,
  ProtectedResourceMetadataSchema,
  SIGNING_JWKS_URI_MEMBER,
  type DeclarationsJwks,
  type DeclarationsSigningKey,
  type ProtectedResourceMetadata,
} from '@etdi/schemas';
import { jwkThumbprint, toSchemaIssues } from '@etdi/protocol';
import type { z } from 'zod';
import { VerificationError } from '../errors.js';

/**
 * Fetches one discovery document and returns its JSON value. Must throw VerificationError:
 * DISCOVERY_REFUSED for a URL or address it will not contact, DISCOVERY_FAILED for everything
 * else (network, status other than 200, size, time, not JSON).
 */
export type DiscoveryFetch = (url: URL) => Promise<unknown>;

/**
 * The canonical form of a server URI (RFC 8707 resource indicator, as MCP's authorization spec
 * uses it): an absolute http(s) URI, scheme and host lower-cased, the default port dropped, no
 * fragment. TypeError for anything else: a host configuration mistake, not a finding.
 */
export function canonicalServerUri(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (cause) {
    throw new TypeError(`server URI ${JSON.stringify(uri)} is not an absolute URI`, { cause });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`server URI ${uri} must be http(s)`);
  if (url.username !== '' || url.password !== '') throw new TypeError(`server URI ${uri} must not carry credentials`);
  url.hash = '';
  return url.href;
}

/** The canonical form of a URI a manifest or a metadata document names, or undefined when it is not one. */
export function sameResource(a: string, b: string): boolean {
  try {
    return canonicalServerUri(a) === canonicalServerUri(b);
  } catch {
    return false;
  }
}

/**
 * Where a resource's metadata is (RFC 9728 section 3.1): the well-known suffix inserted between
 * the host and the path (`https://mcp.example.com/mcp` →
 * `https://mcp.example.com/.well-known/oauth-protected-resource/mcp`).
 */
export function protectedResourceMetadataUrl(serverUri: string): URL {
  const url = new URL(canonicalServerUri(serverUri));
  const path = url.pathname === '/' ? '' : url.pathname;
  return new URL(`${url.origin}${PROTECTED_RESOURCE_METADATA_PATH}${path}${url.search}`);
}

/** The publisher's keys as discovered: the metadata, the JWKS and where it was. */
export interface DiscoveredKeys {
  metadata: ProtectedResourceMetadata;
  jwksUri: string;
  jwks: DeclarationsJwks;
  /** RFC 7638 thumbprints of every Ed25519 key of the set, sorted: what trust on first use remembers. */
  keyIds: string[];
  /** The Ed25519 key of a `kid`, or undefined (another type, or none with that id). */
  keyOf(kid: string): DeclarationsSigningKey | undefined;
}

function checked<T>(schema: z.ZodType<T>, value: unknown, what: string, url: URL): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return value as T;
  const issue = toSchemaIssues(parsed.error)[0];
  throw new VerificationError('DISCOVERY_FAILED', `${what} at ${url.href} is invalid: ${issue?.path || '(root)'}: ${issue?.message ?? ''}`, { url: url.href, issues: toSchemaIssues(parsed.error) }, { cause: parsed.error });
}

/**
 * Discovery, SEP-3140 style: the server's Protected Resource Metadata, which must describe this
 * very server (RFC 9728 section 3.3: `resource` equal to the URI asked about, else its content
 * MUST NOT be used: WRONG_SERVER), then the JWKS it names (no `mcp_signing_jwks_uri`:
 * DISCOVERY_FAILED; the SEP makes it the only place keys come from).
 */
export async function discoverSigningKeys(serverUri: string, fetchJson: DiscoveryFetch): Promise<DiscoveredKeys> {
  const metadataUrl = protectedResourceMetadataUrl(serverUri);
  const metadata = checked(ProtectedResourceMetadataSchema, await fetchJson(metadataUrl), 'the Protected Resource Metadata', metadataUrl);
  if (!sameResource(metadata.resource, serverUri))
    throw new VerificationError('WRONG_SERVER', `the Protected Resource Metadata at ${metadataUrl.href} describes ${metadata.resource}, not ${serverUri}; its keys are not this server's`, {
      expected: serverUri,
      got: metadata.resource,
    });
  const jwksText = metadata[SIGNING_JWKS_URI_MEMBER];
  if (jwksText === undefined)
    throw new VerificationError('DISCOVERY_FAILED', `the Protected Resource Metadata of ${serverUri} has no ${SIGNING_JWKS_URI_MEMBER}: the server negotiated signed declarations but publishes no signing keys`, {
      url: metadataUrl.href,
    });
  let jwksUrl: URL;
  try {
    jwksUrl = new URL(jwksText);
  } catch (cause) {
    throw new VerificationError('DISCOVERY_FAILED', `${SIGNING_JWKS_URI_MEMBER} ${JSON.stringify(jwksText)} is not an absolute URI`, { url: metadataUrl.href }, { cause });
  }
  const jwks = checked(DeclarationsJwksSchema, await fetchJson(jwksUrl), 'the signing JWKS', jwksUrl);
  const keys = new Map<string, DeclarationsSigningKey>();
  const ambiguous = new Set<string>();
  const keyIds = new Set<string>();
  for (const raw of jwks.keys) {
    const key = DeclarationsSigningKeySchema.safeParse(raw);
    if (!key.success) continue; // another key type: never usable for EdDSA
    keyIds.add(jwkThumbprint(key.data));
    if (keys.has(key.data.kid)) ambiguous.add(key.data.kid);
    keys.set(key.data.kid, key.data);
  }
  // two keys under one kid: neither is used (which one did the publisher mean?)
  return { metadata, jwksUri: jwksUrl.href, jwks, keyIds: [...keyIds].sort(), keyOf: (kid) => (ambiguous.has(kid) ? undefined : keys.get(kid)) };
}
