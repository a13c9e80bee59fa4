// Node only: a ready ToolVerifier from the three files a host keeps (trust file, lockfile) and
// its registry's URL. Everything here is composition of public parts; no check is skipped.
import type { Lockfile } from '@etdi/schemas';
import { createLogChecker } from './log-check.js';
import { readLockfile, writeLockfile } from './lockfile-file.js';
import { RegistryClient } from './registry-client.js';
import { trustRootOf } from './trust.js';
import { readTrustFile } from './trust-file.js';
import { ToolVerifier, type ToolVerifierOptions } from './verifier.js';

export interface OpenToolVerifierOptions extends Omit<ToolVerifierOptions, 'trustRoot' | 'log' | 'lockfile' | 'registry' | 'onLockfileChange'> {
  /** The registry's base URL, or a configured client. */
  registry: string | RegistryClient;
  /** The pinned trust root: `etdi trust init --registry <url> --out <file>` writes it. */
  trustFile: string;
  /** The approvals (`etdi.lock.json`): read, and rewritten atomically on every change. */
  lockfile: string;
  /**
   * A missing lockfile reads as empty (nothing approved: every tool needs approval) and is
   * created on the first approval. Default true; false makes a missing file LOCKFILE_CORRUPT.
   */
  allowMissingLockfile?: boolean;
}

/**
 * A ToolVerifier over a pinned trust file, a lockfile and a registry: the log checker is built
 * from the trust file's log key and the lockfile's newest checkpoint, and every lockfile change
 * (approval, newer checkpoint) is written back atomically.
 */
export async function openToolVerifier(options: OpenToolVerifierOptions): Promise<ToolVerifier> {
  const { registry: registryOption, trustFile, lockfile: lockfilePath, allowMissingLockfile, ...rest } = options;
  const registry = typeof registryOption === 'string' ? new RegistryClient({ baseUrl: registryOption }) : registryOption;
  const trust = await readTrustFile(trustFile);
  if (trust.registry !== registry.baseUrl)
    throw new TypeError(`openToolVerifier: ${trustFile} pins the registry ${trust.registry}, not ${registry.baseUrl}; pass the trust file of that registry`);
  const lockfile: Lockfile = await readLockfile(lockfilePath, { allowMissing: allowMissingLockfile ?? true });
  const log = await createLogChecker({
    logKey: trust.logKey,
    registry,
    ...(trust.logOrigin ? { origin: trust.logOrigin } : {}),
    ...(lockfile.checkpoint ? { checkpoint: lockfile.checkpoint } : {}),
  });
  return new ToolVerifier({ ...rest, trustRoot: trustRootOf(trust), log, lockfile, registry, onLockfileChange: (next) => writeLockfile(lockfilePath, next) });
}
