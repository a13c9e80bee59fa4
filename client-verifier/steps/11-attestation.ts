/** Step 11 (docs/VERIFIER.md): the registry's attestation of the version. */
import type { AttestationClaims } from '@etdi/schemas';
import { checkAttestedClaims, expectedAttestation, verifyAttestation } from '../attestation.js';
import type { ValidatedBundle } from '../bundles.js';
import type { VerifyContext } from '../evidence.js';

/**
 * Step 11, started early: the per-version token (jose: EdDSA, a pinned key id, iss, aud, exp,
 * typ, every claim equal to the record's), or the entry of an attestation set verified when the
 * set was added, matched claim by claim with its `exp` checked again. jose verifies with
 * WebCrypto off the main thread, so it is started right after step 3 and overlaps steps 4-10;
 * its expectations come from the record, which step 5 proves is the verified manifest's, and
 * its result is awaited last. An earlier failure wins: the promise is then ignored, never left
 * unhandled. ATTESTATION_INVALID.
 */
export function startAttestation(bundle: ValidatedBundle, ctx: VerifyContext): Promise<AttestationClaims> {
  const { record, status } = bundle;
  const fromSet = ctx.attested?.(record.toolId, record.version);
  const attestation =
    fromSet !== undefined
      ? Promise.resolve().then(() => checkAttestedClaims(fromSet, expectedAttestation(record), ctx.attestation))
      : verifyAttestation(status.attestation, ctx.trustRoot, expectedAttestation(record), ctx.attestation);
  attestation.catch(() => undefined);
  return attestation;
}
