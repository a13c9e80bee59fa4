import { readFile } from 'node:fs/promises';
import type { Ed25519PrivateJwk, McpRegistryProof, RegisterNamespaceRequest } from '@etdi/schemas';
import { mcpRegistryProof, registrationRequest, tokenRequest } from '@etdi/protocol';
import { readPrivateKeyFile } from '@etdi/protocol/node';
import { CliError, answerError } from './errors.js';

/** A registry answer: status and parsed JSON body (problem documents included). */
export interface HttpAnswer {
  status: number;
  body: unknown;
}

const MAX_ANSWER_BYTES = 1024 * 1024;

/** POST JSON (or raw bytes) with an optional bearer token; network failures are OPERATIONAL. */
export async function postJson(url: string, body: string | Uint8Array, token?: string): Promise<HttpAnswer> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      body: typeof body === 'string' ? body : Buffer.from(body),
      redirect: 'error',
      signal: AbortSignal.timeout(15_000),
      headers: { 'content-type': 'application/json', accept: 'application/json, application/problem+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot reach the registry (${url}): ${(cause as Error).message}`, { url }, { cause });
  }
  const text = await response.text();
  if (text.length > MAX_ANSWER_BYTES) throw new CliError('OPERATIONAL', `the registry's answer to ${url} is larger than 1 MiB`, { url });
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: response.status, body: parsed };
}

/**
 * The registry's origin as it names itself in statements (its `iss`, from its metadata document):
 * statements name the registry so that one made for another registry is refused there (replay
 * across registries). A registry that cannot say is an error, never a guess from the typed URL.
 */
export async function registryOrigin(registry: string): Promise<string> {
  const { RegistryClient } = await import('@etdi/client');
  try {
    return (await new RegistryClient({ baseUrl: registry }).getMetadata()).issuer;
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot read the registry's metadata document (${registry.replace(/\/+$/, '')}/.well-known/etdi-registry.json): ${(cause as Error).message}`, { registry }, { cause });
  }
}

/** A publisher token for the key's namespace: POST /v1/tokens with a signed token statement. */
export async function requestToken(registry: string, namespace: string, key: Ed25519PrivateJwk): Promise<{ token: string; expiresIn: number }> {
  const base = registry.replace(/\/+$/, '');
  const answer = await postJson(`${base}/v1/tokens`, JSON.stringify(await tokenRequest(key, { registry: await registryOrigin(base), namespace })));
  const body = answer.body as { access_token?: unknown; expires_in?: unknown; detail?: unknown; code?: unknown };
  if ((answer.status !== 200 && answer.status !== 201) || typeof body.access_token !== 'string')
    throw answerError('the token request', answer);
  return { token: body.access_token, expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 0 };
}

/**
 * Registers a namespace with its first key (proof of possession); admin grant, well-known
 * document, or (`mcpRegistry`) the official MCP Registry's domain proof made with the same key.
 */
export async function registerNamespace(
  registry: string,
  namespace: string,
  key: Ed25519PrivateJwk,
  verification: 'admin-grant' | 'well-known',
  adminToken?: string,
  mcpRegistry?: { method: McpRegistryProof['method']; domain: string },
): Promise<HttpAnswer> {
  const base = registry.replace(/\/+$/, '');
  const body: RegisterNamespaceRequest = await registrationRequest(key, { registry: await registryOrigin(base), namespace }, verification);
  // signed last: the registry accepts the timestamp within 15 s only
  if (mcpRegistry !== undefined) body.mcpRegistryProof = await mcpRegistryProof(key, mcpRegistry.method, mcpRegistry.domain);
  return postJson(`${base}/v1/namespaces`, JSON.stringify(body), adminToken);
}

/** The administrator token from a file (first line), e.g. the one `etdi serve --demo` writes. */
export async function readAdminToken(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot read the administrator token file ${path}: ${(cause as Error).message}`, { path }, { cause });
  }
  const token = text.split(/\r?\n/)[0]?.trim() ?? '';
  // a registry refuses administrator tokens shorter than 16 characters (config.ts)
  if (token.length < 16) throw new CliError('USAGE', `the administrator token in ${path} is shorter than 16 characters`, { path });
  return token;
}

/** The publisher token: `--token-file` (first line) or `ETDI_TOKEN`; never printed. */
export async function readToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = await readFile(tokenFile, 'utf8');
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot read the token file ${tokenFile}: ${(cause as Error).message}`, { path: tokenFile }, { cause });
    }
    const token = text.split(/\r?\n/)[0]?.trim() ?? '';
    if (token.length === 0) throw new CliError('USAGE', `the token file ${tokenFile} is empty`);
    return token;
  }
  const token = env.ETDI_TOKEN?.trim();
  if (!token) throw new CliError('USAGE', 'no publisher token: set ETDI_TOKEN or pass --token-file (etdi token writes one)');
  return token;
}

/** GET a JSON document; network failures are OPERATIONAL. */
export async function getJson(url: string): Promise<HttpAnswer> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(15_000), headers: { accept: 'application/json, application/problem+json' } });
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot reach the registry (${url}): ${(cause as Error).message}`, { url }, { cause });
  }
  const text = await response.text();
  if (text.length > MAX_ANSWER_BYTES) throw new CliError('OPERATIONAL', `the registry's answer to ${url} is larger than 1 MiB`, { url });
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}

/** A private key file for a verb; an unreadable or world-readable key is operational (exit 2). */
export async function readKeyFor(path: string): Promise<Ed25519PrivateJwk> {
  try {
    return await readPrivateKeyFile(path);
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot use the key ${path}: ${(cause as Error).message}`, { path }, { cause });
  }
}

/** Where a write verb's bearer token comes from (first match wins). */
export interface BearerSources {
  registry: string;
  /** The namespace the operation writes to (for a token obtained with `key`). */
  namespace: string;
  adminTokenFile?: string | undefined;
  tokenFile?: string | undefined;
  /** An active key of the namespace: a fresh publisher token is obtained with it. */
  keyPath?: string | undefined;
  env: NodeJS.ProcessEnv;
}

/**
 * The bearer token of a write verb (revoke, keys add, keys revoke): --admin-token-file, then
 * --token-file, then a fresh publisher token from --key (no token file to keep, none to expire
 * between commands), then ETDI_TOKEN, then ETDI_ADMIN_TOKEN.
 */
export async function bearerFor(sources: BearerSources, verb: string): Promise<{ token: string; as: 'admin' | 'publisher' }> {
  if (sources.adminTokenFile !== undefined) return { token: await readAdminToken(sources.adminTokenFile), as: 'admin' };
  if (sources.tokenFile !== undefined) return { token: await readToken(sources.tokenFile, sources.env), as: 'publisher' };
  if (sources.keyPath !== undefined) return { token: (await requestToken(sources.registry, sources.namespace, await readKeyFor(sources.keyPath))).token, as: 'publisher' };
  const publisher = sources.env.ETDI_TOKEN?.trim();
  if (publisher) return { token: publisher, as: 'publisher' };
  const admin = sources.env.ETDI_ADMIN_TOKEN?.trim();
  if (admin) return { token: admin, as: 'admin' };
  throw new CliError('USAGE', `etdi ${verb} needs authority over ${sources.namespace}: pass --key <an active key of it>, --token-file <file> (etdi token), or --admin-token-file <file> (see etdi ${verb} --help)`);
}
