import { bytesEqual, defaultBackend, fromBase64, fromHex, MCP_REGISTRY_AUTH_PATH, MCP_REGISTRY_RECORD_PATTERN, mcpRegistryRecord, publicKeyBytes, utf8 } from '@etdi/protocol';
import type { Ed25519PublicJwk, McpRegistryProof } from '@etdi/schemas';
import type { RegistryConfig } from '../config.js';
import { RegistryError } from '../errors.js';
import type { RegistryContext } from './context.js';
import { DnsTxtFailure, lookupTxt } from './dns-txt.js';
import { checkedLookup, FetchFailure, fetchCapped, namespaceDomain, refuseAddressNamespace, wellKnownUrl } from './well-known.js';

/**
 * Domain control proven the official MCP Registry's way (github.com/modelcontextprotocol/registry,
 * internal/api/handlers/v0/auth/{http,dns,common}.go), so that a provider already there reuses
 * the key and the record it published: the domain publishes `v=MCPv1; k=ed25519; p=<base64>`
 * (DNS TXT of the domain itself, or https://<domain>/.well-known/mcp-registry-auth), and the key
 * signs a fresh timestamp. Here that key must also be the namespace's first key (the
 * registration's `jwk`), whose signed statement binds the proof to this registry and this
 * namespace, once: the timestamp alone could be replayed for 15 s at any registry.
 */

/** The official registry's window: the signed timestamp within ±15 s of its clock. */
export const MCP_PROOF_WINDOW_SECONDS = 15;
/** The official registry reads at most 4096 bytes of the HTTP record. */
const MCP_HTTP_MAX_BYTES = 4096;

export async function verifyMcpRegistryProof(ctx: RegistryContext, namespace: string, jwk: Ed25519PublicJwk, proof: McpRegistryProof): Promise<void> {
  refuseUncoveredNamespace(namespace, proof);
  refuseDnsWithoutResolver(ctx.config, proof);
  checkProofTimestamp(proof, ctx.now());
  await verifyTimestampSignature(jwk, proof);
  if (proof.method === 'http') {
    const url = new URL(MCP_REGISTRY_AUTH_PATH, wellKnownUrl(namespace, ctx.config.wellKnown)).href;
    refuseUnpublishedKey(await fetchHttpRecord(url, jwk, ctx.config), jwk, { url }, url);
  } else {
    refuseUnpublishedKey(await lookupDnsRecords(proof.domain, jwk, ctx.config), jwk, { dnsName: proof.domain }, `the TXT records of ${proof.domain}`);
  }
}

/**
 * The official registry's namespaces: a domain proven over HTTP grants `com.example/*` only (an
 * HTTP server does not speak for its subdomains, as in ACME HTTP-01); proven in DNS it also
 * grants `com.example.*` (the zone's owner owns its subdomains). Our namespace is the part before
 * the `/`, so: http, the namespace is the reversed domain; dns, that or a name under it.
 */
function refuseUncoveredNamespace(namespace: string, proof: McpRegistryProof): void {
  const reversed = namespaceDomain(proof.domain);
  refuseAddressNamespace(reversed); // a domain that is an address proves nothing (and is never fetched)
  const covered = namespace === reversed || (proof.method === 'dns' && namespace.startsWith(`${reversed}.`));
  if (!covered)
    throw new RegistryError(
      'NAMESPACE_MISMATCH',
      proof.method === 'http'
        ? `a proof for ${proof.domain} over HTTP covers namespace ${reversed} only, not ${namespace} (HTTP does not speak for subdomains; use a DNS proof of a parent domain, or prove ${namespaceDomain(namespace)})`
        : `a proof for ${proof.domain} in DNS covers ${reversed} and the namespaces under it, not ${namespace}`,
      { evidence: { namespace, domain: proof.domain, method: proof.method } },
    );
}

function refuseDnsWithoutResolver(config: RegistryConfig, proof: McpRegistryProof): void {
  if (proof.method === 'dns' && config.dnsProofServers.length === 0)
    throw new RegistryError(
      'DNS_PROOF_NOT_CONFIGURED',
      `this registry has no DNS resolver configured for domain proofs (config.dnsProofServers, ETDI_DNS_PROOF_SERVERS); prove ${proof.domain} over HTTP (https://${proof.domain}${MCP_REGISTRY_AUTH_PATH}) or ask for an admin grant`,
    );
}

function checkProofTimestamp(proof: McpRegistryProof, nowMs: number): void {
  const at = Date.parse(proof.timestamp);
  if (!Number.isFinite(at) || Math.abs(at - nowMs) > MCP_PROOF_WINDOW_SECONDS * 1000)
    throw new RegistryError('STATEMENT_STALE', `the MCP Registry proof's timestamp ${proof.timestamp} is not within ${MCP_PROOF_WINDOW_SECONDS}s of the registry's clock; sign a fresh one`, {
      evidence: { timestamp: proof.timestamp, now: new Date(nowMs).toISOString() },
    });
}

/** What the official registry checks: Ed25519 over the timestamp's bytes, hex. */
async function verifyTimestampSignature(jwk: Ed25519PublicJwk, proof: McpRegistryProof): Promise<void> {
  const valid = await defaultBackend.verify(publicKeyBytes(jwk), utf8(proof.timestamp), fromHex(proof.signed_timestamp));
  if (!valid) throw new RegistryError('BAD_PROOF', `signed_timestamp is not the registration key's signature of ${proof.timestamp}`);
}

/** The refusal names the record that would have passed, where to publish it, and the admin grant. */
function notVerified(message: string, where: { url: string } | { dnsName: string }, jwk: Ed25519PublicJwk, cause?: unknown): RegistryError {
  const expected = mcpRegistryRecord(jwk);
  const place = 'url' in where ? `serve ${where.url} (HTTPS, status 200, no redirect) with the text` : `publish a TXT record on ${where.dnsName} (the domain itself, not a selector)`;
  return new RegistryError('DOMAIN_NOT_VERIFIED', `${message}. To prove the domain with the registration key, ${place}: ${expected}; or register with an administrator token (admin grant)`, {
    cause,
    evidence: { ...where, expected },
  });
}

/** GET https://<domain>/.well-known/mcp-registry-auth through the domain-control fetch fence (well-known.ts). */
async function fetchHttpRecord(url: string, jwk: Ed25519PublicJwk, config: RegistryConfig): Promise<string[]> {
  const target = new URL(url);
  const lookup = target.protocol === 'https:' ? checkedLookup(config.wellKnown.resolve) : undefined;
  const capped = { ...config.wellKnown, maxBytes: Math.min(config.wellKnown.maxBytes, MCP_HTTP_MAX_BYTES) };
  try {
    return [new TextDecoder().decode(await fetchCapped(target, capped, lookup, 'text/plain')).trim()];
  } catch (cause) {
    if (cause instanceof FetchFailure && cause.kind === 'address')
      throw notVerified(`${target.hostname} does not resolve to public addresses only; the registry fetches domain proofs from public hosts`, { url }, jwk, cause);
    if (cause instanceof FetchFailure && cause.kind === 'too-large')
      throw notVerified(`${url} is larger than ${capped.maxBytes} bytes`, { url }, jwk, cause);
    throw notVerified(`could not fetch ${url} (it must answer 200 over HTTPS on port 443 within ${capped.timeoutMs} ms)`, { url }, jwk, cause);
  }
}

async function lookupDnsRecords(domain: string, jwk: Ed25519PublicJwk, config: RegistryConfig): Promise<string[]> {
  try {
    return await lookupTxt(domain, { servers: config.dnsProofServers, timeoutMs: config.dnsProofTimeoutMs, maxBytes: config.dnsProofMaxBytes });
  } catch (cause) {
    if (!(cause instanceof DnsTxtFailure)) throw cause;
    const reason = { 'no-record': `${domain} has no TXT record`, failed: `the TXT lookup of ${domain} failed`, 'too-large': `the TXT records of ${domain} are larger than ${config.dnsProofMaxBytes} bytes` }[cause.kind];
    throw notVerified(reason, { dnsName: domain }, jwk, cause);
  }
}

/**
 * The published Ed25519 keys: the first `v=MCPv1; k=...; p=...` of each text (the official
 * registry's pattern, matched anywhere), `k=ed25519` only (etdi keys are Ed25519; the official
 * registry's `ecdsap384` records are skipped), strict base64 of exactly 32 bytes.
 */
function publishedEd25519Keys(texts: readonly string[]): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (const text of texts) {
    const match = MCP_REGISTRY_RECORD_PATTERN.exec(text);
    if (match === null || match[1]!.trim() !== 'ed25519') continue;
    try {
      const key = fromBase64(match[2]!);
      if (key.length === 32) keys.push(key);
    } catch {
      // a garbled key: skipped, as the official registry skips it
    }
  }
  return keys;
}

function refuseUnpublishedKey(texts: readonly string[], jwk: Ed25519PublicJwk, where: { url: string } | { dnsName: string }, source: string): void {
  const keys = publishedEd25519Keys(texts);
  if (keys.length === 0) throw notVerified(`no v=MCPv1 ed25519 key record in ${source}`, where, jwk);
  const mine = publicKeyBytes(jwk);
  if (!keys.some((key) => bytesEqual(key, mine)))
    throw notVerified(`the v=MCPv1 ed25519 key${keys.length > 1 ? 's' : ''} in ${source} ${keys.length > 1 ? 'are' : 'is'} not the registration key`, where, jwk);
}
