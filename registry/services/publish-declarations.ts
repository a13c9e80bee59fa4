/**
 * POST /v1/declarations: a SEP-3140 server's signed capability manifest as a publish. Each tool
 * it lists becomes a version of `<publisher namespace>/<name>`, logged as a `version.published`
 * leaf like a manifest of our own, so the server gains the log, revocation and audit. The
 * digests are the ones a host pins for a tool it verified from the server itself
 * (docs/PROTOCOL.md, "SEP-3140 ... as a publish").
 */
import {
  canonicalize,
  checkSchema,
  declarationsSignatureKid,
  jwkThumbprint,
  publisherNamespace,
  signedDeclarationDigests,
  toPinVersion,
  verifyDeclarationsSignature,
  type VerifiedDeclarations,
} from '@etdi/protocol';
import {
  DeclarationsPublishSchema,
  TrustLabelsSchema,
  type DeclarationEntry,
  type DeclarationsPublish,
  type DeclarationsPublishResult,
  type DeclarationsSigningKey,
  type ToolDeclaration,
} from '@etdi/schemas';
import { RegistryError, toRegistryError } from '../errors.js';
import { requireWriter } from './auth.js';
import type { Principal, RegistryContext } from './context.js';
import { applyPublish, type PublishJob, type PublishResult } from './publish-job.js';
import { trustedKeysFor } from './publish.js';

/** Library errors (SCHEMA_INVALID, BAD_SIGNATURE, ...) as the registry's, with their codes. */
function asRegistryError<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw toRegistryError(error) ?? error;
  }
}

/**
 * In order: decode; authorise (the publisher URI names a namespace this principal writes to, a
 * signer the namespace trusts, a manifest issued in the past and not yet expired); verify the
 * JWS over JCS(manifest); check every declaration against its entry; then commit every tool in
 * ONE job of the write queue: all of them or, on any refusal, none.
 */
export async function publishDeclarations(ctx: RegistryContext, principal: Principal, body: unknown): Promise<{ rows: PublishResult[]; answer: DeclarationsPublishResult }> {
  if (principal.role === 'anonymous') requireWriter(principal, '');
  const request = asRegistryError(() => checkSchema(DeclarationsPublishSchema, body, 'SEP-3140 publish'));
  const { manifest } = request.signed;
  const namespace = publisherNamespace(manifest.publisher);
  if (namespace === undefined)
    throw new RegistryError('SCHEMA_INVALID', `publisher ${manifest.publisher} is not a URI whose host is a domain name: its host, reversed, names the namespace`, {
      errors: [{ path: 'signed.manifest.publisher', message: 'must be a URI whose host is a DNS name of two labels or more' }],
    });
  const now = ctx.now();
  if (Date.parse(manifest.expiresAt) <= now - ctx.config.maxClockSkewSeconds * 1000)
    throw new RegistryError('MANIFEST_EXPIRED', `the capability manifest expired at ${manifest.expiresAt}: sign a fresh one (etdi sign --sep3140) and publish that`, {
      evidence: { expiresAt: manifest.expiresAt, now: new Date(now).toISOString() },
    });
  const verified = await verifySigner(ctx, principal, namespace, request);
  checkEveryToolDeclared(manifest.tools, request.declarations);
  const jobs = request.declarations.map((declaration) => toJob(namespace, verified, declaration, principal, ctx));
  const atMs = ctx.now();
  // one job: the tools share a savepoint, so a refusal of any one writes none of them
  const rows = await ctx.queue.submit(async (tx) => {
    const results: PublishResult[] = [];
    for (const job of jobs) results.push(await applyPublish(tx, ctx.log, job, atMs));
    return results;
  });
  return {
    rows,
    answer: {
      provider: namespace,
      tools: rows.map(({ created, row }) => ({
        toolId: row.tool_id,
        version: row.version,
        created,
        definitionDigest: row.definition_digest,
        manifestDigest: row.manifest_digest,
        leafIndex: row.leaf_index,
      })),
    },
  };
}

/**
 * The JWS must verify with a key of the namespace: `signingKey` (the JWKS entry its `kid` names,
 * registered here by its RFC 7638 thumbprint) or, without it, the registered key whose
 * thumbprint is the `kid`. A revoked key is KEY_REVOKED; any other UNTRUSTED_SIGNER.
 */
async function verifySigner(ctx: RegistryContext, principal: Principal, namespace: string, request: DeclarationsPublish): Promise<VerifiedDeclarations> {
  const { signed, signingKey } = request;
  const kid = asRegistryError(() => declarationsSignatureKid(signed.signature));
  const keyId = signingKey === undefined ? kid : jwkThumbprint(signingKey);
  const trusted = await trustedKeysFor(ctx, principal, namespace, `the capability manifest of ${signed.manifest.server}`, signed.manifest.issuedAt, [keyId]);
  const registered = trusted.get(keyId);
  if (registered === undefined)
    throw new RegistryError(
      'UNTRUSTED_SIGNER',
      signingKey === undefined
        ? `the manifest's kid "${kid}" is not the thumbprint of a key of ${namespace}: send the JWKS entry it names as signingKey, or register the key (etdi keys add)`
        : `signingKey (thumbprint ${keyId}) is not a key of ${namespace}: register it first (etdi keys add)`,
      { evidence: { kid, keyId, namespace } },
    );
  const key: DeclarationsSigningKey = signingKey ?? { ...registered, kid };
  try {
    return await verifyDeclarationsSignature(signed, (named) => (named === key.kid ? key : undefined));
  } catch (error) {
    throw toRegistryError(error) ?? error;
  }
}

/** Every tool the manifest lists must come with its declaration (the registry serves it), each once. */
function checkEveryToolDeclared(entries: readonly DeclarationEntry[], declarations: readonly ToolDeclaration[]): void {
  const declared = new Set(declarations.map((d) => d.name));
  const missing = entries.filter((e) => !declared.has(e.name)).map((e) => e.name);
  if (missing.length > 0 || declared.size !== declarations.length)
    throw new RegistryError('SCHEMA_INVALID', missing.length > 0 ? `the manifest lists ${missing.join(', ')} without a declaration: send every listed tool's declaration` : 'a tool is declared twice', {
      errors: [{ path: 'declarations', message: missing.length > 0 ? `missing: ${missing.join(', ')}` : 'each tool name once' }],
    });
}

/** One tool of the manifest as a publish job: the same job, checks and writes as our own format's. */
function toJob(namespace: string, verified: VerifiedDeclarations, declaration: ToolDeclaration, principal: Principal, ctx: RegistryContext): PublishJob {
  // the registry logs nothing a client must refuse: the trust labels are SEP-3140's closed vocabulary
  if (declaration.trust !== undefined) {
    const labels = TrustLabelsSchema.safeParse(declaration.trust);
    if (!labels.success)
      throw new RegistryError('UNKNOWN_TRUST_LABEL', `declaration "${declaration.name}" has a trust label outside SEP-3140's vocabulary: ${labels.error.issues[0]?.path.join('.')}`, {
        evidence: { tool: declaration.name, trust: declaration.trust },
      });
  }
  const { manifest, signed } = verified;
  const document = { manifest, signature: signed.signature, declaration };
  // the declaration must be the one the manifest lists (its recomputed hash, the entry's version): DEFINITION_MISMATCH
  const { entry, definitionDigest, manifestDigest } = asRegistryError(() => signedDeclarationDigests(document));
  return {
    namespace,
    toolId: `${namespace}/${declaration.name}`,
    version: toPinVersion(entry.version),
    name: declaration.name,
    title: typeof declaration.title === 'string' ? declaration.title : null,
    description: typeof declaration.description === 'string' ? declaration.description : null,
    keyId: verified.keyId,
    issuedAtMs: Date.parse(manifest.issuedAt),
    manifestDigest,
    definitionDigest,
    // what is stored and served (SignedDeclarationSchema): JCS of the values as received
    signedManifest: canonicalize(document),
    actor: principal.actor,
    limits: ctx.config.limits,
  };
}
