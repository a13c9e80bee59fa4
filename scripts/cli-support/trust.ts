import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { z } from 'zod';
import { Ed25519PublicJwkSchema, type Lockfile } from '@etdi/schemas';
import { jwkThumbprint, parseStrictJson } from '@etdi/protocol';
import { RegistryClient, ToolVerifier, createLogChecker, emptyLockfile, type TrustRootConfig } from '@etdi/client';
import { readLockfile, writeLockfile } from '@etdi/client/node';
import { CliError } from './errors.js';
import type { Output } from './output.js';

export const TRUST_FILE_TYPE = 'etdi.trust/v1';

/**
 * What the CLI pins about a registry: its attestation keys (by RFC 7638 id), its log's note
 * verifier key, issuer and audience. Written on first use next to the lockfile (trust on first
 * use, like SSH known_hosts) so that a registry which later swaps its keys is refused instead of
 * silently re-trusted; commit it with the lockfile.
 */
export const TrustFileSchema = z.strictObject({
  type: z.literal(TRUST_FILE_TYPE),
  registry: z.string().min(1),
  issuer: z.string().min(1),
  audience: z.string().min(1),
  jwks: z.strictObject({ keys: z.array(Ed25519PublicJwkSchema).min(1) }),
  pinnedKeyIds: z.array(z.string()).min(1),
  logKey: z.string().min(3),
  /** The checkpoint origin line the log uses; checked on every checkpoint when present. */
  logOrigin: z.string().min(1).optional(),
});
export type TrustFile = z.infer<typeof TrustFileSchema>;

/** `etdi.lock.json` -> `etdi.lock.trust.json` (same directory). */
export function defaultTrustPath(lockfilePath: string): string {
  const name = basename(lockfilePath).replace(/\.json$/, '');
  return join(dirname(lockfilePath), `${name}.trust.json`);
}

const NOTE_KEY = /^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/;

async function fetchText(url: string, what: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'error' });
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot reach the registry for ${what} (${url}): ${(cause as Error).message}`, { url }, { cause });
  }
  const text = await response.text();
  if (!response.ok) throw new CliError('OPERATIONAL', `the registry answered ${response.status} for ${what} (${url})`, { url, status: response.status });
  if (text.length > 64 * 1024) throw new CliError('OPERATIONAL', `${what} is larger than 64 KiB`, { url });
  return text;
}

/** The `origin` member of the log's `/v1/log/key` answer, when it has one. */
function findOrigin(text: string): string | undefined {
  try {
    const value = parseStrictJson(text.trim()) as { origin?: unknown } | null;
    return typeof value?.origin === 'string' && value.origin.length > 0 ? value.origin : undefined;
  } catch {
    return undefined;
  }
}

/** Finds the C2SP verifier key in the log's `/v1/log/key` answer (JSON with a key string, or the bare key). */
function findNoteKey(text: string): string | undefined {
  const trimmed = text.trim();
  if (NOTE_KEY.test(trimmed)) return trimmed;
  let value: unknown;
  try {
    value = parseStrictJson(trimmed);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const obj = value as Record<string, unknown>;
  for (const key of ['verifierKey', 'key', 'noteKey', 'vkey'])
    if (typeof obj[key] === 'string' && NOTE_KEY.test(obj[key])) return obj[key];
  for (const v of Object.values(obj)) if (typeof v === 'string' && NOTE_KEY.test(v)) return v;
  return undefined;
}

/** Fetches what to pin from the registry itself (first use only). */
export async function fetchTrust(registry: string, options: { issuer?: string; audience?: string } = {}): Promise<TrustFile> {
  const base = registry.replace(/\/+$/, '');
  const client = new RegistryClient({ baseUrl: base });
  let jwks: { keys: unknown[] };
  try {
    jwks = await client.getJwks();
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot fetch the registry's JWKS: ${(cause as Error).message}`, { registry: base }, { cause });
  }
  const keys = jwks.keys.flatMap((k) => {
    const parsed = Ed25519PublicJwkSchema.safeParse(k);
    return parsed.success ? [parsed.data] : [];
  });
  if (keys.length === 0) throw new CliError('OPERATIONAL', `the registry at ${base} serves no Ed25519 attestation key`, { registry: base });
  const keyAnswer = await fetchText(`${base}/v1/log/key`, 'the log verifier key');
  const logKey = findNoteKey(keyAnswer);
  const logOrigin = findOrigin(keyAnswer);
  if (logKey === undefined) throw new CliError('OPERATIONAL', `the registry at ${base} does not serve a C2SP note verifier key at /v1/log/key`, { registry: base });
  // The issuer is the registry's configured origin, which /openapi.json states; a flag overrides it.
  let issuer = options.issuer;
  if (issuer === undefined) {
    try {
      const doc = JSON.parse(await fetchText(`${base}/openapi.json`, 'the OpenAPI document')) as { servers?: { url?: unknown }[] };
      const url = doc.servers?.[0]?.url;
      if (typeof url === 'string') issuer = url;
    } catch {
      issuer = undefined;
    }
  }
  return {
    type: TRUST_FILE_TYPE,
    registry: base,
    issuer: issuer ?? base,
    audience: options.audience ?? 'etdi-clients',
    jwks: { keys },
    pinnedKeyIds: keys.map((k) => jwkThumbprint(k)),
    logKey,
    ...(logOrigin ? { logOrigin } : {}),
  };
}

export async function readTrustFile(path: string): Promise<TrustFile> {
  let value: unknown;
  try {
    value = parseStrictJson(await readFile(path), { maxBytes: 256 * 1024 });
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot read the trust file ${path}: ${(cause as Error).message}`, { path }, { cause });
  }
  const parsed = TrustFileSchema.safeParse(value);
  if (!parsed.success) throw new CliError('OPERATIONAL', `${path} is not an ${TRUST_FILE_TYPE} document: ${parsed.error.issues[0]?.message ?? ''}`, { path });
  return parsed.data;
}

export interface TrustOptions {
  registry: string;
  /** Explicit trust file (--trust). */
  trustPath?: string;
  /** The lockfile; its sibling `<name>.trust.json` is the default trust file. */
  lockfilePath?: string;
  issuer?: string;
  audience?: string;
  /** Write the fetched trust next to the lockfile on first use. */
  save: boolean;
  out: Output;
}

/** The pinned trust root (file), or fetched from the registry on first use and pinned. */
export async function loadTrust(options: TrustOptions): Promise<TrustRootConfig & { logOrigin?: string }> {
  const path = options.trustPath ?? (options.lockfilePath ? defaultTrustPath(options.lockfilePath) : undefined);
  let trust: TrustFile;
  if (path !== undefined && existsSync(path)) {
    trust = await readTrustFile(path);
    if (trust.registry !== options.registry.replace(/\/+$/, ''))
      throw new CliError('OPERATIONAL', `${path} pins the registry ${trust.registry}, not ${options.registry}; use --trust with the right file`, {
        path,
        expected: trust.registry,
        got: options.registry,
      });
  } else {
    trust = await fetchTrust(options.registry, { ...(options.issuer ? { issuer: options.issuer } : {}), ...(options.audience ? { audience: options.audience } : {}) });
    if (options.save && path !== undefined) {
      await writeFile(path, JSON.stringify(trust, null, 2) + '\n', { mode: 0o644, flag: 'wx' });
      options.out.note(`pinned registry ${trust.registry}: attestation keys ${trust.pinnedKeyIds.join(', ')}, log key ${trust.logKey.split('+')[0]} (trust on first use, ${path})`);
    } else options.out.note(`using the registry's own keys from ${trust.registry} (not pinned: no lockfile or --trust file)`);
  }
  return {
    issuer: trust.issuer,
    audience: trust.audience,
    jwks: trust.jwks,
    pinnedKeyIds: trust.pinnedKeyIds,
    logKey: trust.logKey,
    ...(trust.logOrigin ? { logOrigin: trust.logOrigin } : {}),
  };
}

export interface OpenedVerifier {
  verifier: ToolVerifier;
  registry: RegistryClient;
  /** Whether the lockfile existed (a missing one reads as empty: every tool needs approval). */
  lockfileExists: boolean;
  /** Writes the verifier's current lockfile (approvals, newest checkpoint). */
  save(): Promise<void>;
}

export interface OpenVerifierOptions extends TrustOptions {
  /** Missing lockfile reads as empty (never more trust: nothing is approved). Default true. */
  allowMissingLockfile?: boolean;
  /** Persist every lockfile change (newest checkpoint, approvals) as it happens. */
  persist?: boolean;
}

/** A ToolVerifier over the pinned trust root, the lockfile and the registry. */
export async function openVerifier(options: OpenVerifierOptions): Promise<OpenedVerifier> {
  const registry = new RegistryClient({ baseUrl: options.registry });
  const lockfilePath = options.lockfilePath;
  const lockfileExists = lockfilePath !== undefined && existsSync(lockfilePath);
  if (lockfilePath !== undefined && !lockfileExists && options.allowMissingLockfile === false)
    throw new CliError('OPERATIONAL', `the lockfile ${lockfilePath} does not exist (approve a tool first: etdi approve)`, { path: lockfilePath });
  const lockfile: Lockfile = lockfileExists ? await readLockfile(lockfilePath) : emptyLockfile();
  const { logOrigin, ...trustRoot } = await loadTrust(options);
  const log = await createLogChecker({ logKey: trustRoot.logKey, registry, ...(logOrigin ? { origin: logOrigin } : {}), ...(lockfile.checkpoint ? { checkpoint: lockfile.checkpoint } : {}) });
  const verifier: ToolVerifier = new ToolVerifier({
    trustRoot,
    log,
    lockfile,
    registry,
    ...(options.persist && lockfilePath !== undefined && lockfileExists ? { onLockfileChange: (next: Lockfile) => writeLockfile(lockfilePath, next) } : {}),
  });
  return {
    verifier,
    registry,
    lockfileExists,
    save: async () => {
      if (lockfilePath !== undefined) await writeLockfile(lockfilePath, verifier.lockfile);
    },
  };
}
