/**
 * The one key-revocation rule, shared by the registry (a version's status, `latest`) and the
 * client verifier (KEY_REVOKED), so that the two never disagree about a version.
 *
 * A signature by a key revoked from `revokedFrom` is void when it was made at or after that time
 * (the key may have been in an attacker's hands from then on). The signer states the time
 * (`issuedAt`), and a thief can back-date it; the registry's publication time cannot be
 * back-dated, so it bounds the claim: a version published at or after `revokedFrom` is void
 * whatever its `issuedAt` says.
 */
export function isSignatureVoid(revokedFrom: string | null | undefined, signed: { issuedAt: string; publishedAt: string }): boolean {
  if (revokedFrom === null || revokedFrom === undefined) return false;
  const from = Date.parse(revokedFrom);
  return from <= Date.parse(signed.issuedAt) || from <= Date.parse(signed.publishedAt);
}
