import { canonicalBytes, sha256Digest, verifyBytes } from '@etdi/protocol';
import type { Ed25519PublicJwk } from '@etdi/schemas';
import { RegistryError } from '../errors.js';
import type { StoreTx } from '../store/types.js';
import type { RegistryContext } from './context.js';

interface StatementLike {
  type: string;
  registry: string;
  namespace: string;
  issuedAt: string;
}

/**
 * The checks every signed statement (registration, key add, token request) passes before its
 * signature is even looked at: it names THIS registry (no replay across registries) and it is
 * fresh (issuedAt within the clock-skew window). Replay inside the window is stopped by
 * `consumeStatement` in the write transaction.
 */
export function checkStatementFrame(ctx: RegistryContext, statement: StatementLike): void {
  if (statement.registry !== ctx.config.origin)
    throw new RegistryError('WRONG_REGISTRY', `the statement is for registry ${JSON.stringify(statement.registry)}, this is ${ctx.config.origin}`, {
      evidence: { expected: ctx.config.origin, got: statement.registry },
    });
  const at = Date.parse(statement.issuedAt);
  const skewMs = ctx.config.maxClockSkewSeconds * 1000;
  if (!(Math.abs(ctx.now() - at) <= skewMs))
    throw new RegistryError('STATEMENT_STALE', `statement issuedAt ${statement.issuedAt} is not within ${ctx.config.maxClockSkewSeconds}s of the registry's clock`, {
      evidence: { issuedAt: statement.issuedAt, now: new Date(ctx.now()).toISOString() },
    });
}

/** Verifies `signature` by `jwk` over JCS(statement); BAD_PROOF otherwise. */
export async function verifyStatementSignature(
  jwk: Ed25519PublicJwk,
  statement: object,
  signature: string,
  what: string,
): Promise<void> {
  if (!(await verifyBytes(jwk, canonicalBytes(statement), signature)))
    throw new RegistryError('BAD_PROOF', `${what} does not verify over the statement's canonical bytes`);
}

/** Inside a write job: marks the statement used; STATEMENT_REPLAYED when it was used before. */
export async function consumeStatement(tx: StoreTx, ctx: RegistryContext, statement: object): Promise<void> {
  const nowS = Math.floor(ctx.now() / 1000);
  const expires = nowS + 2 * ctx.config.maxClockSkewSeconds;
  if (!(await tx.useStatement(sha256Digest(canonicalBytes(statement)), expires, nowS)))
    throw new RegistryError('STATEMENT_REPLAYED', 'this signed statement was already used');
}
