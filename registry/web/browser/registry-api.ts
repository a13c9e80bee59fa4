import { fromBase64, jwkThumbprint, webCryptoBackend, type Ed25519Backend } from '@etdi/protocol';
import { createLogChecker, createTrustRoot, VerificationError, type TrustRoot, type StatefulLogChecker } from '@etdi/client';
import type { LockfileCheckpoint } from '@etdi/schemas';

/** The registry's API, same origin: the page's HTML is never an input to a check. */
async function get(path: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'omit' });
  } catch (cause) {
    throw new VerificationError('REGISTRY_UNAVAILABLE', `cannot reach the registry (${path})`, {}, { cause });
  }
  return res;
}

export async function getText(path: string): Promise<{ status: number; text: string }> {
  const res = await get(path);
  return { status: res.status, text: await res.text() };
}

export async function getJson(path: string): Promise<unknown> {
  const { status, text } = await getText(path);
  if (status !== 200) throw new VerificationError('REGISTRY_UNAVAILABLE', `the registry answered ${status} to ${path}`, { got: status });
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `the registry's answer to ${path} is not JSON`, {}, { cause });
  }
}

export const segment = encodeURIComponent;

export function bundlePath(toolId: string, version: string): string {
  const slash = toolId.indexOf('/');
  return `/v1/tools/${segment(toolId.slice(0, slash))}/${segment(toolId.slice(slash + 1))}/versions/${segment(version)}/bundle`;
}

/**
 * Ed25519 from WebCrypto, probed: a browser without it gets a clear message instead of a
 * silent fallback (the page promises a WebCrypto check).
 */
export async function webCrypto(): Promise<Ed25519Backend> {
  try {
    await crypto.subtle.importKey('raw', new Uint8Array(32).fill(1), { name: 'Ed25519' }, false, ['verify']);
  } catch (cause) {
    throw new VerificationError('REGISTRY_UNAVAILABLE', 'this browser’s WebCrypto has no Ed25519: use a current Chromium, Firefox or Safari', {}, { cause });
  }
  return webCryptoBackend!;
}

/**
 * The trust root for the attestation: the registry's JWKS as served now. The anchors that do not
 * depend on this server's word are the provider's key (its thumbprint is the key id the log
 * recorded) and the pinned log key.
 */
export async function trustRootFor(issuer: string, audience: string, logKey: string): Promise<TrustRoot> {
  const jwks = (await getJson('/.well-known/jwks.json')) as { keys: unknown[] };
  const ids = (Array.isArray(jwks?.keys) ? jwks.keys : []).flatMap((k) => {
    try {
      return [jwkThumbprint(k as Parameters<typeof jwkThumbprint>[0])];
    } catch {
      return [];
    }
  });
  return createTrustRoot({ issuer, audience, jwks, pinnedKeyIds: ids, logKey });
}

/** The verifier's log check with the pinned key, starting from a checkpoint seen before. */
export function logCheckerFor(logKey: string, origin: string, checkpoint: LockfileCheckpoint | undefined): Promise<StatefulLogChecker> {
  return createLogChecker({
    logKey,
    origin,
    ...(checkpoint === undefined ? {} : { checkpoint }),
    fetchConsistencyProof: async (from, to) => {
      const { status, text } = await getText(`/v1/log/proof/consistency?from=${from}&to=${to}`);
      // A registry that answers but cannot prove it (a size its log never had) shows another history.
      if (status >= 400 && status < 500)
        throw new VerificationError('LOG_INCONSISTENT', `the registry cannot prove its log of size ${to} consistent with the one of size ${from} (answer ${status}): it shows a different history; stop trusting it`, { expected: from, got: to });
      if (status !== 200) throw new VerificationError('REGISTRY_UNAVAILABLE', `the registry answered ${status} to a consistency proof request`, { got: status });
      let proof: { hashes?: unknown };
      try {
        proof = JSON.parse(text) as { hashes?: unknown };
      } catch (cause) {
        throw new VerificationError('SCHEMA_INVALID', 'the consistency proof is not JSON', {}, { cause });
      }
      if (!Array.isArray(proof.hashes) || !proof.hashes.every((h) => typeof h === 'string'))
        throw new VerificationError('SCHEMA_INVALID', 'the consistency proof is malformed');
      return proof.hashes.map((h: string) => fromBase64(h));
    },
  });
}

/** A failure's stable code and message, whatever threw it. */
export function describeFailure(error: unknown): { code: string; message: string } {
  if (error !== null && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string')
    return { code: (error as { code: string }).code, message: String((error as Error).message) };
  return { code: 'INTERNAL', message: String(error) };
}
