import { toHex } from './encoding.js';
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
  ? (data) => new Uint8Array(nodeCrypto.hash('sha256', data, 'buffer'))
  : (data) => nobleSha256(data);

/**
 * Lower-case hex SHA-256. Node's one-shot `crypto.hash` with hex output skips the Hash object and
 * the byte-to-hex loop: half the cost of a digest of a 2 KB manifest (two per verification).
 */
export const sha256Hex: (data: Uint8Array) => string = nodeCrypto
  ? (data) => nodeCrypto.hash('sha256', data, 'hex')
  : (data) => toHex(nobleSha256(data));

export const sha512: (data: Uint8Array) => Uint8Array = nodeCrypto
  ? (data) => new Uint8Array(nodeCrypto.hash('sha512', data, 'buffer'))
  : (data) => nobleSha512(data);

/** node:crypto when the runtime is Node, for the Ed25519 backend too. */
export { nodeCrypto };
