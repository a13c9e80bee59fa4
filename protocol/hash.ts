import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';

/**
 * Synchronous SHA-256/512. Node's native hash where the runtime has it (about 10x faster on the
 * publish and verify hot paths), @noble/hashes elsewhere (browsers, edge runtimes).
 * `process.getBuiltinModule` keeps this file free of a static `node:` import.
 */
const nodeCrypto: typeof import('node:crypto') | undefined = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as typeof import('node:crypto') | undefined;

export const sha256: (data: Uint8Array) => Uint8Array = nodeCrypto
  ? (data) => new Uint8Array(nodeCrypto.createHash('sha256').update(data).digest())
  : (data) => nobleSha256(data);

export const sha512: (data: Uint8Array) => Uint8Array = nodeCrypto
  ? (data) => new Uint8Array(nodeCrypto.createHash('sha512').update(data).digest())
  : (data) => nobleSha512(data);

/** node:crypto when the runtime is Node, for the Ed25519 backend too. */
export { nodeCrypto };
