import {
  BundleSetRequestSchema,
  ConsistencyProofSchema,
  KeyStatusSchema,
  LogKeyResponseSchema,
  REGISTRY_METADATA_PATH,
  RegistryMetadataSchema,
  VersionListResponseSchema,
  type BundleSetRequest,
  type ConsistencyProof,
  type KeyStatus,
  type LogKeyResponse,
  type RegistryMetadata,
} from '@etdi/schemas';
import { ProtocolError, checkSchema, fromBase64, parseStrictJson, utf8 } from '@etdi/protocol';
import { z } from 'zod';
import { VerificationError } from './errors.js';
import { validateBundle, validateBundleSet, type ValidatedBundle, type ValidatedBundleSet } from './bundles.js';

export interface RegistryClientOptions {
  /** The registry's base URL, e.g. `https://registry.example` (no trailing path needed). */
  baseUrl: string;
  /** Per-request timeout in ms (AbortSignal). Default 5000. */
  timeoutMs?: number;
  /** Largest response body accepted, in bytes. Default 256 KiB (a bundle is a few KB). */
  maxResponseBytes?: number;
  /** Largest bundle-set response accepted (POST /v1/bundles), in bytes. Default 16 MiB. */
  maxBundleSetBytes?: number;
  /** A fetch implementation (tests, proxies). Default: the global fetch. */
  fetch?: typeof fetch;
}

/** `/v1/tools/<namespace>/<name>/versions`, each part escaped. */
function versionsPath(toolId: string): string {
  const slash = toolId.indexOf('/');
  return `/v1/tools/${encodeURIComponent(toolId.slice(0, slash))}/${encodeURIComponent(toolId.slice(slash + 1))}/versions`;
}

const JwksSchema = z.looseObject({ keys: z.array(z.unknown()).max(64) });
const KeyListSchema = z.array(KeyStatusSchema).max(1024);

/**
 * A small, hostile-response-proof client of the registry's read API: every request has a
 * timeout, every body a size cap enforced while streaming (a server cannot make the host
 * buffer gigabytes), every JSON body the strict I-JSON parser and a schema.
 */
export class RegistryClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxSetBytes: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RegistryClientOptions) {
    if (typeof options?.baseUrl !== 'string') throw new TypeError('RegistryClient: baseUrl must be a URL string');
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxBytes = options.maxResponseBytes ?? 256 * 1024;
    this.maxSetBytes = options.maxBundleSetBytes ?? 16 * 1024 * 1024;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** The bundle (record + status) of one version, `latest` allowed. UNKNOWN_TOOL on 404. */
  async getBundle(toolId: string, version: string): Promise<ValidatedBundle> {
    const path = `${versionsPath(toolId)}/${encodeURIComponent(version)}/bundle`;
    const what = `the bundle of ${toolId}@${version}`;
    return validateBundle(await this.getParsed(path, what), what, { url: this.baseUrl + path });
  }

  /**
   * The versions of `toolId` whose signed definition has `definitionDigest`, newest first (which
   * version a server lists, when it carries no manifest). An answer for another tool is refused.
   */
  async findVersions(toolId: string, definitionDigest: string): Promise<string[]> {
    const path = `${versionsPath(toolId)}?definitionDigest=${encodeURIComponent(definitionDigest)}`;
    const list = await this.getJson(path, VersionListResponseSchema, `the versions of ${toolId}`);
    if (list.toolId !== toolId)
      throw new VerificationError('SCHEMA_INVALID', `the registry answered the versions of ${list.toolId}, not ${toolId}`, { expected: toolId, got: list.toolId });
    return list.versions.map((v) => v.version);
  }

  /**
   * The bundles of many versions under one attestation set (`POST /v1/bundles`), `latest`
   * allowed: one request and one registry signature for a server's whole tool list. Nothing is
   * verified here (ToolVerifier.addBundleSet verifies the set; each bundle when its tool is).
   */
  async getBundleSet(versions: BundleSetRequest['versions']): Promise<ValidatedBundleSet> {
    const request = checkSchema(BundleSetRequestSchema, { versions }, 'bundle-set request');
    const value = await this.getParsed('/v1/bundles', 'a bundle set', { body: JSON.stringify(request), maxBytes: this.maxSetBytes });
    return validateBundleSet(value, 'a bundle set', { url: this.baseUrl + '/v1/bundles' });
  }

  /** The registry's attestation keys (`/.well-known/jwks.json`); trust comes from the host's pins, not from this. */
  async getJwks(): Promise<{ keys: unknown[] }> {
    return this.getJson('/.well-known/jwks.json', JwksSchema, 'the registry JWKS');
  }

  /** The log's origin and note verifier key (`/v1/log/key`); trust comes from the host's pin, not from this. */
  async getLogKey(): Promise<LogKeyResponse> {
    return this.getJson('/v1/log/key', LogKeyResponseSchema, 'the log verifier key');
  }

  /** What the registry says a host should pin (`/.well-known/etdi-registry.json`): read by fetchTrust. */
  async getMetadata(): Promise<RegistryMetadata> {
    try {
      return await this.getJson(REGISTRY_METADATA_PATH, RegistryMetadataSchema, 'the registry metadata');
    } catch (error) {
      // no metadata document: not an ETDI registry at this URL (or one too old to bootstrap from)
      if (error instanceof VerificationError && error.code === 'UNKNOWN_TOOL')
        throw new VerificationError('REGISTRY_UNAVAILABLE', `${this.baseUrl} is not an ETDI registry: it serves no ${REGISTRY_METADATA_PATH}; check the URL`, error.evidence, { cause: error });
      throw error;
    }
  }

  /** Every key of a namespace with its status. */
  async getNamespaceKeys(namespace: string): Promise<KeyStatus[]> {
    return this.getJson(`/v1/namespaces/${encodeURIComponent(namespace)}/keys`, KeyListSchema, `the keys of ${namespace}`);
  }

  /** The newest signed checkpoint (C2SP note text, exactly as served). */
  async getCheckpoint(): Promise<string> {
    const body = await this.get('/v1/log/checkpoint', 'the log checkpoint');
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(body);
    } catch (cause) {
      throw new VerificationError('SCHEMA_INVALID', 'the log checkpoint is not UTF-8 text', {}, { cause });
    }
  }

  /** A consistency proof between two tree sizes, hashes decoded. */
  async getConsistencyProof(size1: number, size2: number): Promise<{ proof: ConsistencyProof; hashes: Uint8Array[] }> {
    const proof = await this.getJson(`/v1/log/proof/consistency?from=${size1}&to=${size2}`, ConsistencyProofSchema, 'a consistency proof');
    if (proof.size1 !== size1 || proof.size2 !== size2)
      throw new VerificationError('SCHEMA_INVALID', `the registry answered a proof for ${proof.size1}->${proof.size2}, not ${size1}->${size2}`, {
        expected: [size1, size2],
        got: [proof.size1, proof.size2],
      });
    return { proof, hashes: proof.hashes.map((h) => fromBase64(h)) };
  }

  /** The body as strict I-JSON, not yet checked against any schema. */
  private async getParsed(path: string, what: string, post?: { body: string; maxBytes: number }): Promise<unknown> {
    const body = await this.get(path, what, post);
    try {
      return parseStrictJson(body, { maxBytes: post?.maxBytes ?? this.maxBytes });
    } catch (cause) {
      throw new VerificationError('SCHEMA_INVALID', `${what} is not strict I-JSON: ${(cause as Error).message}`, { url: this.baseUrl + path }, { cause });
    }
  }

  private async getJson<T>(path: string, schema: z.ZodType<T>, what: string): Promise<T> {
    const value = await this.getParsed(path, what);
    try {
      // The value as received (checkSchema returns its input, not zod's copy): signatures are
      // verified over exactly what the registry sent.
      return checkSchema(schema, value, what);
    } catch (cause) {
      const issues = cause instanceof ProtocolError ? cause.issues : [];
      throw new VerificationError('SCHEMA_INVALID', (cause as Error).message, { url: this.baseUrl + path, issues }, { cause });
    }
  }

  /** GET, or POST of a JSON body when `post` is given; the body capped at `post.maxBytes` or maxResponseBytes. */
  private async get(path: string, what: string, post?: { body: string; maxBytes: number }): Promise<Uint8Array> {
    const url = this.baseUrl + path;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const maxBytes = post?.maxBytes ?? this.maxBytes;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        signal,
        redirect: 'error',
        ...(post
          ? { method: 'POST', body: post.body, headers: { accept: 'application/json', 'content-type': 'application/json' } }
          : { headers: { accept: 'application/json, text/plain' } }),
      });
    } catch (cause) {
      const timedOut = (cause as Error).name === 'TimeoutError' || signal.aborted;
      throw new VerificationError(
        'REGISTRY_UNAVAILABLE',
        timedOut ? `the registry did not answer ${what} within ${this.timeoutMs} ms` : `cannot reach the registry for ${what}: ${(cause as Error).message}`,
        { url },
        { cause },
      );
    }
    if (response.status === 404) {
      await response.body?.cancel().catch(() => undefined);
      throw new VerificationError('UNKNOWN_TOOL', `the registry does not have ${what} (404)`, { url, got: 404 });
    }
    if (!response.ok) {
      let problemCode: unknown;
      try {
        const text = await this.readCapped(response, url, what, maxBytes);
        problemCode = (JSON.parse(new TextDecoder().decode(text)) as { code?: unknown }).code;
      } catch {
        problemCode = undefined;
      }
      throw new VerificationError('REGISTRY_UNAVAILABLE', `the registry answered ${response.status} for ${what}`, {
        url,
        got: response.status,
        problemCode,
      });
    }
    return this.readCapped(response, url, what, maxBytes);
  }

  /** Reads the body, stopping as soon as it passes the cap (Content-Length is checked first but not trusted). */
  private async readCapped(response: Response, url: string, what: string, maxBytes: number): Promise<Uint8Array> {
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new VerificationError('RESPONSE_TOO_LARGE', `${what} is ${declared} bytes, more than ${maxBytes}`, { url, expected: maxBytes, got: declared });
    }
    if (response.body === null) return utf8('');
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > maxBytes) {
          await reader.cancel().catch(() => undefined);
          throw new VerificationError('RESPONSE_TOO_LARGE', `${what} is more than ${maxBytes} bytes`, { url, expected: maxBytes, got: `> ${maxBytes}` });
        }
        chunks.push(value);
      }
    } catch (cause) {
      if (cause instanceof VerificationError) throw cause;
      throw new VerificationError('REGISTRY_UNAVAILABLE', `reading ${what} failed: ${(cause as Error).message}`, { url }, { cause });
    }
    const out = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }
}
