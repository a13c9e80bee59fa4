/**
 * `etdi sign --sep3140`: a SEP-3140 capability manifest for a server URI (the `declarations/
 * manifest` answer: the manifest and its detached JWS over JCS), from the server's tools. Each
 * tool's declaration is the tool as listed with its `version` and `trust` labels; its
 * `contentHash` is computed here (a listed one is ignored: it is what is being vouched for).
 */
import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { DeclarationVersionSchema, TrustLabelsSchema, type DeclarationEntry, type DeclarationsManifest, type Ed25519PrivateJwk } from '@etdi/schemas';
import { contentHashOf, jwkThumbprint, signDeclarationsManifest, toBase64Url } from '@etdi/protocol';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { readJsonFile } from '../cli-support/files.js';
import type { Output, CliIo } from '../cli-support/output.js';

/** `--trust-file`: each tool's trust block by name (the SEP's closed vocabulary). */
const TrustFileSchema = z.strictObject({ tools: z.record(z.string(), TrustLabelsSchema) });

export interface SignSep3140Input {
  definitions: unknown[];
  key: Ed25519PrivateJwk;
  serverUri: string;
  publisher: string;
  kid?: string;
  /** The version of tools that declare none. */
  version?: string;
  trustFile?: string;
  /** Lifetime, e.g. `30d`, `12h`. */
  expiresIn: string;
  outPath?: string;
  /** Where to write the registry publish (`etdi publish` sends it to POST /v1/declarations). */
  publishPath?: string;
  out: Output;
  io: CliIo;
}

/** `30d`, `12h`, `90m` in milliseconds; at most 366 days (a manifest is re-signed, not kept forever). */
export function parseLifetime(text: string): number {
  const m = /^(\d+)(d|h|m)$/.exec(text.trim());
  const ms = m ? Number(m[1]) * (m[2] === 'd' ? 86_400_000 : m[2] === 'h' ? 3_600_000 : 60_000) : NaN;
  if (!(ms > 0) || ms > 366 * 86_400_000) throw usage('sign', `--expires-in ${text} is not a lifetime from 1m to 366d (e.g. 30d, 12h)`);
  return ms;
}

async function trustOf(path: string | undefined, names: readonly string[]): Promise<Record<string, unknown>> {
  if (path === undefined) return {};
  const parsed = TrustFileSchema.safeParse(await readJsonFile(path, 'the trust file'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError('USAGE', `the trust file ${path} is not valid at ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? ''} (labels: effect, egress, dataSensitivity, reversible, idempotent)`, { path });
  }
  const unknown = Object.keys(parsed.data.tools).filter((n) => !names.includes(n));
  if (unknown.length > 0) throw new CliError('USAGE', `the trust file ${path} names ${unknown.map((n) => `"${n}"`).join(', ')}, which the server does not list`, { path, unknown });
  return parsed.data.tools;
}

const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function signSep3140(input: SignSep3140Input): Promise<ExitCode> {
  const lifetime = parseLifetime(input.expiresIn);
  if (input.version !== undefined && !DeclarationVersionSchema.safeParse(input.version).success)
    throw usage('sign', `--version ${input.version} is not a decimal integer or a semver version`);
  const tools = input.definitions.map((raw) => (raw ?? {}) as Record<string, unknown>);
  const names = tools.map((t) => (typeof t.name === 'string' ? t.name : '(no name)'));
  const trust = await trustOf(input.trustFile, names);
  const entries: DeclarationEntry[] = [];
  const declarations: Record<string, unknown>[] = [];
  for (const [i, tool] of tools.entries()) {
    const name = names[i]!;
    const { contentHash: _listed, ...rest } = tool;
    const version = typeof rest.version === 'string' ? rest.version : input.version;
    if (version === undefined || !DeclarationVersionSchema.safeParse(version).success)
      throw usage('sign', `"${name}" declares no valid version: give --version, or list the tool with one`);
    const labels = trust[name] ?? rest.trust;
    if (labels !== undefined && !TrustLabelsSchema.safeParse(labels).success) throw usage('sign', `"${name}" lists a trust block outside SEP-3140's vocabulary`);
    const declared = { ...rest, version, ...(labels !== undefined ? { trust: labels } : {}) };
    const contentHash = contentHashOf(declared);
    entries.push({ name, version, contentHash });
    declarations.push({ ...declared, contentHash });
  }
  const now = Date.now();
  const manifest: DeclarationsManifest = {
    server: input.serverUri,
    publisher: input.publisher,
    specVersion: '2025-11-25',
    issuedAt: rfc3339(now),
    expiresAt: rfc3339(now + lifetime),
    nonce: toBase64Url(crypto.getRandomValues(new Uint8Array(16))),
    tools: entries,
    prompts: [],
    resources: [],
  };
  let signed;
  const kid = input.kid ?? jwkThumbprint(input.key);
  try {
    signed = await signDeclarationsManifest(manifest, input.key, kid);
  } catch (cause) {
    throw new CliError('USAGE', `cannot sign the capability manifest: ${(cause as Error).message}`, {}, { cause });
  }
  const text = JSON.stringify(signed, null, 2) + '\n';
  if (input.outPath !== undefined) await writeFile(input.outPath, text);
  if (input.publishPath !== undefined) {
    // the registry checks the JWS with the key the kid names: the public half of the signing key
    const publish = { signed, declarations, signingKey: { kty: 'OKP', crv: 'Ed25519', x: input.key.x, kid } };
    await writeFile(input.publishPath, JSON.stringify(publish, null, 2) + '\n');
  }
  input.out.result({
    ok: true,
    sep3140: {
      server: manifest.server,
      publisher: manifest.publisher,
      expiresAt: manifest.expiresAt,
      tools: entries,
      ...(input.outPath ? { path: input.outPath } : { signedManifest: signed }),
      ...(input.publishPath ? { publishPath: input.publishPath } : {}),
    },
  });
  if (!input.out.json) {
    if (input.outPath === undefined) input.io.stdout.write(text);
    else input.out.table(['TOOL', 'VERSION', 'CONTENT HASH'], entries.map((e) => [e.name, e.version, e.contentHash]));
  }
  return EXIT.OK;
}
