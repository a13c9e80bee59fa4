// The Node entry point: the whole portable API plus the Node-only lockfile file functions.
// `export *` on purpose (an exception to the house rule): this entry is defined as a superset of
// index.ts, whose explicit list stays the one place where public names are chosen.
export * from './index.js';
export { readLockfile, writeLockfile, type ReadLockfileOptions } from './lockfile-file.js';
export { readTrustFile, writeTrustFile } from './trust-file.js';
export { openToolVerifier, type OpenToolVerifierOptions } from './open-verifier.js';
export { createDiscoveryFetch, type DiscoveryFetchOptions } from './sep3140/node-discovery-fetch.js';
