// Node-only additions to the portable client verifier (file system access).
export { readLockfile, writeLockfile, type ReadLockfileOptions } from './lockfile-file.js';
