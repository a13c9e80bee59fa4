import * as ed from '@noble/ed25519';
import { nodeCrypto, sha512 } from './hash.js';
import { toBase64Url } from './encoding.js';

// noble's synchronous API needs a SHA-512; give it the fastest one the runtime has.
ed.hashes.sha512 = sha512 as typeof ed.hashes.sha512;

export type Ed25519BackendName = 'node' | 'node-threadpool' | 'webcrypto' | 'noble';

/**
 * One Ed25519 implementation. Every backend verifies per RFC 8032 strictly (no ZIP-215
 * leniency): test/protocol/ed25519.test.ts runs all Wycheproof cases through each of them.
 * `verify` returns false for any malformed key or signature; it never throws on hostile bytes.
 */
export interface Ed25519Backend {
  readonly name: Ed25519BackendName;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** Signs with a 32-byte RFC 8032 private key (the seed). */
  sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
}

/** Imported keys are cached: importing costs more than a verify (the hot paths see few keys). */
class KeyCache<K> {
  private readonly map = new Map<string, K>();
  constructor(private readonly max = 4096) {}
  get(raw: Uint8Array, make: () => K): K {
    const id = toBase64Url(raw);
    let key = this.map.get(id);
    if (key === undefined) {
      if (this.map.size >= this.max) this.map.clear();
      key = make();
      this.map.set(id, key);
    }
    return key;
  }
}

const shapeOk = (publicKey: Uint8Array, signature: Uint8Array): boolean =>
  publicKey.length === 32 && signature.length === 64;

/**
 * node:crypto. `threadpool: false` verifies synchronously on the calling thread: the lowest
 * latency for one signature (the registry's publish, a single check). `threadpool: true` uses
 * the callback form, which runs on libuv's thread pool: each verify costs the caller a little
 * more, but many verifications started together (a server's whole tool list) run on every core
 * while the calling thread parses and hashes the next tool.
 */
function createNodeBackend(crypto: typeof import('node:crypto'), threadpool: boolean): Ed25519Backend {
  const keys = new KeyCache<import('node:crypto').KeyObject | null>();
  const importPublic = (raw: Uint8Array) =>
    keys.get(raw, () => {
      try {
        return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(raw) }, format: 'jwk' });
      } catch {
        return null; // not a valid point encoding
      }
    });
  const verifyOnPool = (message: Uint8Array, key: import('node:crypto').KeyObject, signature: Uint8Array): Promise<boolean> =>
    new Promise((resolve) => {
      try {
        crypto.verify(null, message, key, signature, (error, ok) => resolve(error === null && ok));
      } catch {
        resolve(false);
      }
    });
  return {
    name: threadpool ? 'node-threadpool' : 'node',
    verify(publicKey, message, signature) {
      if (!shapeOk(publicKey, signature)) return Promise.resolve(false);
      const key = importPublic(publicKey);
      if (key === null) return Promise.resolve(false);
      if (threadpool) return verifyOnPool(message, key, signature);
      try {
        return Promise.resolve(crypto.verify(null, message, key, signature));
      } catch {
        return Promise.resolve(false);
      }
    },
    sign(seed, message) {
      const x = toBase64Url(ed.getPublicKey(seed));
      const key = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x, d: toBase64Url(seed) }, format: 'jwk' });
      return Promise.resolve(new Uint8Array(crypto.sign(null, message, key)));
    },
  };
}

function createWebCryptoBackend(subtle: SubtleCrypto): Ed25519Backend {
  const keys = new KeyCache<Promise<CryptoKey | null>>();
  const importPublic = (raw: Uint8Array) =>
    keys.get(raw, () =>
      subtle.importKey('raw', raw.slice(), { name: 'Ed25519' }, false, ['verify']).catch(() => null),
    );
  return {
    name: 'webcrypto',
    async verify(publicKey, message, signature) {
      if (!shapeOk(publicKey, signature)) return false;
      const key = await importPublic(publicKey);
      if (key === null) return false;
      try {
        return await subtle.verify('Ed25519', key, signature.slice(), message.slice());
      } catch {
        return false;
      }
    },
    async sign(seed, message) {
      const jwk = { kty: 'OKP', crv: 'Ed25519', x: toBase64Url(ed.getPublicKey(seed)), d: toBase64Url(seed) };
      const key = await subtle.importKey('jwk', jwk, { name: 'Ed25519' }, false, ['sign']);
      return new Uint8Array(await subtle.sign('Ed25519', key, message.slice()));
    },
  };
}

/** The portable pure-JS implementation, and the fallback where the runtime has no native Ed25519. */
export const nobleBackend: Ed25519Backend = {
  name: 'noble',
  verify(publicKey, message, signature) {
    if (!shapeOk(publicKey, signature)) return Promise.resolve(false);
    try {
      // zip215: false selects RFC 8032 rules: canonical encodings of R and A, S < L.
      return Promise.resolve(ed.verify(signature, message, publicKey, { zip215: false }));
    } catch {
      return Promise.resolve(false);
    }
  },
  sign(seed, message) {
    return Promise.resolve(ed.sign(message, seed));
  },
};

export const nodeBackend: Ed25519Backend | undefined = nodeCrypto ? createNodeBackend(nodeCrypto, false) : undefined;
/** node:crypto on libuv's thread pool: for many verifications in flight at once (see createNodeBackend). */
export const nodeThreadpoolBackend: Ed25519Backend | undefined = nodeCrypto ? createNodeBackend(nodeCrypto, true) : undefined;

const subtle: SubtleCrypto | undefined = (globalThis as { crypto?: Crypto }).crypto?.subtle;
export const webCryptoBackend: Ed25519Backend | undefined = subtle ? createWebCryptoBackend(subtle) : undefined;

/**
 * The backend the library uses: node:crypto (synchronous, fastest) in Node, otherwise WebCrypto
 * where the platform supports Ed25519 (probed lazily, see selectBackend), otherwise noble.
 */
export let defaultBackend: Ed25519Backend = nodeBackend ?? nobleBackend;

/** Probes WebCrypto Ed25519 support outside Node and switches to it when present. */
export async function selectBackend(): Promise<Ed25519Backend> {
  if (nodeBackend || !webCryptoBackend || !subtle) return defaultBackend;
  try {
    await subtle.importKey('raw', new Uint8Array(32).fill(1), { name: 'Ed25519' }, false, ['verify']);
    defaultBackend = webCryptoBackend;
  } catch {
    // Ed25519 unsupported by this WebCrypto: stay on noble.
  }
  return defaultBackend;
}

/** The public key of a 32-byte seed. */
export function publicKeyOf(seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TypeError('seed must be a 32-byte Uint8Array');
  return ed.getPublicKey(seed);
}

export function randomSeed(): Uint8Array {
  return ed.utils.randomSecretKey();
}
