import semverCompare from 'semver/functions/compare.js';
import type { Lockfile, LockfilePin, ToolManifest } from '@etdi/schemas';
import { confusableKeys, digestOf } from '@etdi/protocol';
import { classifyChanges, describeEscalation, hintsOf, type ToolChanges } from './changes.js';
import { VerificationError } from './errors.js';

/** What the pin rows need besides the verified evidence. */
export interface PinContext {
  lockfile?: Lockfile;
  /**
   * A newer version without escalation: `reapprove` (default) asks the user again; `allow`
   * accepts it (the host then re-pins it with the already approved permissions).
   */
  newVersion?: 'reapprove' | 'allow';
  /**
   * A newer signed version whose only changes are cosmetic (title, icons: SEP-3140 "Change
   * semantics"): `ask` (default) treats it as any new version; `allow` accepts it and the host
   * re-pins it. Cosmetic is proven by the approved definition, or by the pin's `materialDigest`.
   */
  cosmeticUpdates?: 'ask' | 'allow';
  /** The approved manifest of a pin when known (cache or registry): enables the field-level diff. */
  approvedManifest?: (toolId: string, version: string) => SignedTerms | undefined;
  /** The look-alike keys of names already computed (ToolVerifier owns one map); computed afresh without it. */
  lookalikeKeys?: Map<string, string[]>;
}

/**
 * What a signature vouches for about one tool, as the pin rows compare it: the definition, the
 * permissions and the policy. An ETDI manifest is one; a SEP-3140 tool's are its declaration
 * (without `version` and `contentHash`), no permissions and no policy.
 */
export type SignedTerms = Pick<ToolManifest, 'definition' | 'permissions' | 'policy'>;

/** The subset of verified evidence the pin rows read. */
export interface PinSubject {
  toolId: string;
  toolName: string;
  version: string;
  provider: string;
  definitionDigest: string;
  manifestDigest: string;
  manifest: SignedTerms;
}

/**
 * `sha256:` digest of everything material about a tool: its definition less the cosmetic fields
 * (title, icons), its permissions (as a set) and its policy. Two versions with the same material
 * digest differ only cosmetically; a pin keeps it so that this is known without the old definition.
 */
export function materialDigestOf(terms: SignedTerms): string {
  const { title: _title, icons: _icons, ...material } = terms.definition as Record<string, unknown>;
  return digestOf({ definition: material, permissions: [...new Set(terms.permissions)].sort(), ...(terms.policy !== undefined ? { policy: terms.policy } : {}) });
}

/** Outcomes that are not errors but still not an allow: the host must ask the user. */
export type ApprovalCode = 'NEEDS_APPROVAL' | 'NEW_VERSION' | 'PERMISSION_ESCALATION';

export type PinDecision =
  | {
      status: 'approved';
      pin: LockfilePin;
      upgrade?: { from: string; changes: ToolChanges };
      /** Approved by the host's risk-graduated approval (SEP-3140 trust labels), not by a person. */
      auto?: 'risk-tier';
    }
  | { status: 'needs-approval'; code: ApprovalCode; message: string; pin?: LockfilePin; changes?: ToolChanges; grew?: string[] };

const toolNameOf = (toolId: string): string => toolId.slice(toolId.indexOf('/') + 1);

function keysOf(s: string, known: Map<string, string[]> | undefined): string[] {
  let k = known?.get(s);
  if (k === undefined) {
    k = confusableKeys(s);
    if (known !== undefined) {
      if (known.size > 10_000) known.clear();
      known.set(s, k);
    }
  }
  return k;
}

const meet = (a: readonly string[], b: readonly string[]): boolean => a.some((k) => b.includes(k));

/**
 * Squatting and provider change against the pins of OTHER tool ids (docs/VERIFIER.md, step 12):
 * an unpinned tool whose namespace or tool name looks like a pinned one's (TR39 skeletons with
 * case folded, protocol/confusables.ts), or whose exact tool name is pinned under another provider.
 */
function checkNames(subject: PinSubject, lockfile: Lockfile, known: Map<string, string[]> | undefined): void {
  // Skeletons only when a pin of another provider is there to compare with (none for most hosts' first listing).
  let ns: string[] | undefined;
  let name: string[] | undefined;
  for (const pin of Object.values(lockfile.tools)) {
    if (pin.provider === subject.provider) continue;
    const pinnedName = toolNameOf(pin.toolId);
    if (pinnedName === subject.toolName)
      throw new VerificationError(
        'PROVIDER_CHANGED',
        `you approved "${subject.toolName}" from ${pin.provider}; this one is from ${subject.provider}. Refused: approve ${subject.toolId} explicitly if you really want both`,
        { toolId: subject.toolId, toolName: subject.toolName, expected: pin.provider, got: subject.provider },
      );
    if (meet(keysOf(pin.provider, known), (ns ??= keysOf(subject.provider, known))))
      throw new VerificationError(
        'SQUAT',
        `namespace ${subject.provider} looks like ${pin.provider}, which you approved; it is a different provider (look-alike, TR39)`,
        { toolId: subject.toolId, expected: pin.provider, got: subject.provider, kind: 'namespace' },
      );
    if (meet(keysOf(pinnedName, known), (name ??= keysOf(subject.toolName, known))))
      throw new VerificationError(
        'SQUAT',
        `tool "${subject.toolName}" from ${subject.provider} looks like "${pinnedName}" from ${pin.provider}, which you approved (look-alike, TR39)`,
        { toolId: subject.toolId, expected: pin.toolId, got: subject.toolId, kind: 'tool-name' },
      );
  }
}

/** The pin rows (docs/VERIFIER.md, step 12). Throws for the rejections. */
export function decidePin(subject: PinSubject, ctx: PinContext): PinDecision {
  const lockfile = ctx.lockfile;
  const pin = lockfile?.tools[subject.toolId];
  // Fast path of the re-check before every call: exactly what was approved.
  if (
    pin !== undefined &&
    pin.version === subject.version &&
    pin.provider === subject.provider &&
    pin.definitionDigest === subject.definitionDigest &&
    pin.manifestDigest === subject.manifestDigest
  )
    return { status: 'approved', pin };
  if (pin === undefined) {
    if (lockfile !== undefined) checkNames(subject, lockfile, ctx.lookalikeKeys);
    return {
      status: 'needs-approval',
      code: 'NEEDS_APPROVAL',
      message: `${subject.toolId}@${subject.version} is verified but not approved yet; ask the user (permissions: ${subject.manifest.permissions.join(' ') || 'none'})`,
    };
  }
  if (pin.provider !== subject.provider)
    throw new VerificationError('PROVIDER_CHANGED', `${subject.toolId} was approved from ${pin.provider}, now comes from ${subject.provider}`, {
      toolId: subject.toolId,
      expected: pin.provider,
      got: subject.provider,
    });
  const order = semverCompare(subject.version, pin.version);
  if (order < 0)
    // reject rollback: a lower version than the pinned one (TUF 5.3.5 style freeze/rollback defence)
    throw new VerificationError(
      'ROLLBACK',
      `${subject.toolId} is at ${subject.version}, older than the approved ${pin.version}; the server rolled back, refuse it`,
      { toolId: subject.toolId, expected: `>= ${pin.version}`, got: subject.version },
    );
  if (order === 0) {
    if (pin.definitionDigest !== subject.definitionDigest || pin.manifestDigest !== subject.manifestDigest)
      throw new VerificationError(
        'RUG_PULL',
        `${subject.toolId}@${subject.version} changed after you approved it (same version, different content); do not use it and report the provider`,
        {
          toolId: subject.toolId,
          version: subject.version,
          expected: { definitionDigest: pin.definitionDigest, manifestDigest: pin.manifestDigest },
          got: { definitionDigest: subject.definitionDigest, manifestDigest: subject.manifestDigest },
        },
      );
    return { status: 'approved', pin };
  }
  const approved = ctx.approvedManifest?.(pin.toolId, pin.version);
  const changes = classifyChanges(
    approved
      ? { permissions: approved.permissions, hints: hintsOf(approved.definition), definition: approved.definition as Record<string, unknown>, policy: approved.policy }
      : { permissions: pin.permissions, hints: pin.hints },
    subject.manifest,
  );
  if (changes.escalation) {
    const grew = describeEscalation(changes);
    return {
      status: 'needs-approval',
      code: 'PERMISSION_ESCALATION',
      message: `${subject.toolId} ${pin.version} -> ${subject.version} asks for more: ${grew.join('; ')}; re-approve or stay on ${pin.version}`,
      pin,
      changes,
      grew,
    };
  }
  // Cosmetic only: proven by the compared definitions, or by the pin's material digest when the
  // approved definition is not known (a new session: the lockfile is all there is).
  if (!changes.cosmeticOnly && pin.materialDigest !== undefined && pin.materialDigest === materialDigestOf(subject.manifest)) changes.cosmeticOnly = true;
  if (ctx.cosmeticUpdates === 'allow' && changes.cosmeticOnly) return { status: 'approved', pin, upgrade: { from: pin.version, changes } };
  // 'allow' takes a newer version only when it is proven to ask for nothing more: without the
  // approved definition the input parameters and the policy cannot be compared, so ask.
  if (ctx.newVersion === 'allow' && changes.definitionCompared) return { status: 'approved', pin, upgrade: { from: pin.version, changes } };
  return {
    status: 'needs-approval',
    code: 'NEW_VERSION',
    message: `${subject.toolId} ${pin.version} -> ${subject.version} (${changes.cosmeticOnly ? 'only cosmetic changes: title or icons' : changes.definitionCompared ? 'no new permissions, riskier hints, parameters or policy' : 'no new permissions or riskier hints; the approved definition is not known to compare the rest'}); re-approve to use it`,
    pin,
    changes,
  };
}

/** The pin for a verified tool: `approvedPermissions` must be a subset of what it declares. */
export function toPin(
  subject: PinSubject & { signerKeyId: string },
  approvedPermissions: readonly string[] = subject.manifest.permissions,
  now: Date = new Date(),
): LockfilePin {
  const declared = new Set(subject.manifest.permissions);
  for (const p of approvedPermissions) if (!declared.has(p)) throw new RangeError(`approvedPermissions: "${p}" is not declared by ${subject.toolId}`);
  return {
    toolId: subject.toolId,
    version: subject.version,
    provider: subject.provider,
    definitionDigest: subject.definitionDigest,
    manifestDigest: subject.manifestDigest,
    signerKeyId: subject.signerKeyId,
    permissions: [...subject.manifest.permissions].sort(),
    approvedPermissions: [...new Set(approvedPermissions)].sort(),
    hints: hintsOf(subject.manifest.definition),
    materialDigest: materialDigestOf(subject.manifest),
    approvedAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
}
