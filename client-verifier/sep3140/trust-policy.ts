/**
 * SEP-3140 client step 4: the trust policy evaluated against the verified publisher — pinned
 * publisher keys (highest assurance), allow-listed publisher identities, or trust on first use
 * with an alert when the publisher's keys change. A valid signature is not trust: a publisher
 * none of these vouches for is UNTRUSTED_SIGNER.
 */
import type { Lockfile } from '@etdi/schemas';
import { VerificationError } from '../errors.js';

export interface PublisherTrustPolicy {
  /**
   * Pinned keys: publisher URI (the manifest's `publisher`, exactly) → RFC 7638 thumbprints of
   * its signing keys. A publisher listed here must sign with one of them, whatever else allows it.
   */
  pinnedKeys?: Readonly<Record<string, readonly string[]>>;
  /**
   * Allow-listed publisher URIs. Their JWKS must be served from the publisher URI's own origin:
   * a server names its JWKS itself, so without that binding any server could claim the name.
   */
  allowedPublishers?: readonly string[];
  /**
   * Trust a publisher no rule above names on first use, and refuse (SIGNER_CHANGED) once its keys
   * differ from those first seen: another signer than the one of the approved tools (pins, so
   * across sessions), or a key set other than the one this verifier first saw. Default false.
   */
  trustOnFirstUse?: boolean;
}

/** Why the publisher is trusted. */
export type TrustBasis = 'pinned-key' | 'allow-listed' | 'first-use';

/** The origin of a URI, or undefined for a string that is not one (a publisher is any string to the schema). */
function originOf(uri: string): string | undefined {
  try {
    const url = new URL(uri);
    return url.origin === 'null' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

/** What the policy reads of one verified manifest. */
export interface SignerFacts {
  publisher: string;
  /** The namespace the publisher's tools are pinned under. */
  provider: string;
  /** RFC 7638 thumbprint of the key that verified the JWS. */
  signerKeyId: string;
  /** RFC 7638 thumbprints of the Ed25519 keys of the discovered JWKS. */
  keySet: readonly string[];
  jwksUri: string;
}

/** What trust on first use remembers in one verifier: the key set first seen per publisher. */
export type FirstSeenKeys = Map<string, readonly string[]>;

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

/**
 * Step 4: the policy's verdict on the signer. `pins` are the host's approvals: under trust on
 * first use, the signers of the publisher's approved tools are what was trusted first.
 */
export function checkPublisherTrust(facts: SignerFacts, policy: PublisherTrustPolicy, pins: Lockfile, firstSeen: FirstSeenKeys): TrustBasis {
  const pinned = policy.pinnedKeys?.[facts.publisher];
  if (pinned !== undefined) {
    if (pinned.includes(facts.signerKeyId)) return 'pinned-key';
    throw new VerificationError('UNTRUSTED_SIGNER', `${facts.publisher} signed with key ${facts.signerKeyId}, which is not one of its pinned keys; refuse it, or pin the new key after checking it with the publisher`, {
      publisher: facts.publisher,
      expected: [...pinned],
      got: facts.signerKeyId,
    });
  }
  if (policy.allowedPublishers?.includes(facts.publisher) === true) {
    const origin = originOf(facts.publisher);
    if (origin !== undefined && originOf(facts.jwksUri) === origin) return 'allow-listed';
    throw new VerificationError('UNTRUSTED_SIGNER', `the keys of allow-listed publisher ${facts.publisher} must come from its own origin; this server points to ${facts.jwksUri}`, {
      publisher: facts.publisher,
      expected: origin ?? '(the publisher is not a URL)',
      got: facts.jwksUri,
    });
  }
  if (policy.trustOnFirstUse !== true)
    throw new VerificationError('UNTRUSTED_SIGNER', `publisher ${facts.publisher} is neither pinned nor allow-listed, and trust on first use is off; pin its key or allow-list it`, {
      publisher: facts.publisher,
      got: facts.signerKeyId,
    });
  checkFirstUse(facts, pins, firstSeen);
  return 'first-use';
}

/** Trust on first use: the same signer as the approved tools, and the key set first seen. */
function checkFirstUse(facts: SignerFacts, pins: Lockfile, firstSeen: FirstSeenKeys): void {
  const approvedSigners = [...new Set(Object.values(pins.tools).filter((p) => p.provider === facts.provider).map((p) => p.signerKeyId))];
  if (approvedSigners.length > 0 && !approvedSigners.includes(facts.signerKeyId))
    throw new VerificationError(
      'SIGNER_CHANGED',
      `the tools of ${facts.provider} you approved were signed by ${approvedSigners.join(', ')}; this manifest is signed by ${facts.signerKeyId}. Do not use it; once the publisher confirms the new key, pin it (pinnedKeys) or remove the old approvals (etdi pins remove) and approve again`,
      { publisher: facts.publisher, expected: approvedSigners, got: facts.signerKeyId },
    );
  const seen = firstSeen.get(facts.publisher);
  if (seen === undefined) {
    if (firstSeen.size > 10_000) firstSeen.clear();
    firstSeen.set(facts.publisher, [...facts.keySet]);
    return;
  }
  if (!sameSet(seen, facts.keySet))
    throw new VerificationError('SIGNER_CHANGED', `the signing keys of ${facts.publisher} changed since first use (${facts.jwksUri}); do not use its tools; once the publisher confirms the change, pin its key (pinnedKeys) or start a new verifier`, {
      publisher: facts.publisher,
      expected: [...seen],
      got: [...facts.keySet],
    });
}
