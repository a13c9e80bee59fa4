import { existsSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import type { Lockfile, TrustFile } from '@etdi/schemas';
import { RegistryClient, ToolVerifier, createLogChecker, emptyLockfile, fetchTrust, logKeyFingerprint, trustRootOf, type DeclarationsOptions, type TrustRootConfig } from '@etdi/client';
import { readLockfile, readTrustFile, writeLockfile, writeTrustFile } from '@etdi/client/node';
import { CliError } from './errors.js';
import type { Output } from './output.js';

/** `etdi.lock.json` -> `etdi.lock.trust.json` (same directory). */
export function defaultTrustPath(lockfilePath: string): string {
  const name = basename(lockfilePath).replace(/\.json$/, '');
  return join(dirname(lockfilePath), `${name}.trust.json`);
}

/** The fingerprints a person compares: every pinned attestation key id, then the log key. */
export function trustFingerprints(trust: TrustFile): string[] {
  return [...trust.pinnedKeyIds.map((id) => `attestation key ${id}`), `log key ${logKeyFingerprint(trust.logKey)} (origin ${trust.logOrigin ?? 'any'})`];
}

export interface TrustOptions {
  registry: string;
  /** Explicit trust file (--trust). */
  trustPath?: string;
  /** The lockfile; its sibling `<name>.trust.json` is the default trust file. */
  lockfilePath?: string;
  issuer?: string;
  audience?: string;
  /** Write the fetched trust next to the lockfile on first use. */
  save: boolean;
  out: Output;
}

/** The pinned trust root (file), or fetched from the registry on first use and pinned. */
export async function loadTrust(options: TrustOptions): Promise<TrustRootConfig> {
  const path = options.trustPath ?? (options.lockfilePath ? defaultTrustPath(options.lockfilePath) : undefined);
  let trust: TrustFile;
  if (path !== undefined && existsSync(path)) {
    trust = await readTrustFile(path);
    if (trust.registry !== options.registry.replace(/\/+$/, ''))
      throw new CliError('OPERATIONAL', `${path} pins the registry ${trust.registry}, not ${options.registry}; use --trust with the right file`, {
        path,
        expected: trust.registry,
        got: options.registry,
      });
  } else {
    trust = await fetchTrust(options.registry, { ...(options.issuer ? { issuer: options.issuer } : {}), ...(options.audience ? { audience: options.audience } : {}) });
    if (options.save && path !== undefined) {
      await writeTrustFile(path, trust);
      options.out.note(`pinned registry ${trust.registry} (trust on first use, ${path}): ${trustFingerprints(trust).join('; ')}`);
    } else options.out.note(`using the registry's own keys from ${trust.registry} (not pinned: no lockfile or --trust file)`);
  }
  return trustRootOf(trust);
}

/** A verifier over a lockfile (with a registry or not). */
export interface OpenedLockfileVerifier {
  verifier: ToolVerifier;
  /** The registry, when the verifier has one (SEP-3140 servers need none). */
  registry?: RegistryClient;
  /** Whether the lockfile existed (a missing one reads as empty: every tool needs approval). */
  lockfileExists: boolean;
  /** Writes the verifier's current lockfile (approvals, newest checkpoint). */
  save(): Promise<void>;
}

export interface OpenedVerifier extends OpenedLockfileVerifier {
  registry: RegistryClient;
}

interface VerifierChoices {
  /** Missing lockfile reads as empty (never more trust: nothing is approved). Default true. */
  allowMissingLockfile?: boolean;
  /** Persist every lockfile change (newest checkpoint, approvals) as it happens. */
  persist?: boolean;
  /** SEP-3140 servers (cli-support/declarations.ts). */
  declarations?: DeclarationsOptions;
  /** A newer version whose only changes are cosmetic: accept it (`--cosmetic`). */
  cosmeticUpdates?: 'ask' | 'allow';
}

export interface OpenVerifierOptions extends TrustOptions, VerifierChoices {}

async function lockfileAt(lockfilePath: string | undefined, allowMissing: boolean | undefined): Promise<{ lockfile: Lockfile; lockfileExists: boolean }> {
  const lockfileExists = lockfilePath !== undefined && existsSync(lockfilePath);
  if (lockfilePath !== undefined && !lockfileExists && allowMissing === false)
    throw new CliError('OPERATIONAL', `the lockfile ${lockfilePath} does not exist (approve a tool first: etdi approve)`, { path: lockfilePath });
  return { lockfile: lockfileExists ? await readLockfile(lockfilePath) : emptyLockfile(), lockfileExists };
}

const choices = (options: VerifierChoices): { declarations?: DeclarationsOptions; cosmeticUpdates?: 'ask' | 'allow' } => ({
  ...(options.declarations ? { declarations: options.declarations } : {}),
  ...(options.cosmeticUpdates ? { cosmeticUpdates: options.cosmeticUpdates } : {}),
});

/** A verifier of SEP-3140 servers only: no registry, the lockfile's pins. */
export async function openDeclarationsVerifier(options: VerifierChoices & { lockfilePath: string; declarations: DeclarationsOptions }): Promise<OpenedLockfileVerifier> {
  const { lockfilePath } = options;
  const { lockfile, lockfileExists } = await lockfileAt(lockfilePath, options.allowMissingLockfile);
  const verifier: ToolVerifier = new ToolVerifier({
    lockfile,
    ...choices(options),
    // a SEP-3140 host's approvals (risk-graduated ones too) are written as they happen
    ...(options.persist ? { onLockfileChange: (next: Lockfile) => writeLockfile(lockfilePath, next) } : {}),
  });
  return { verifier, lockfileExists, save: () => writeLockfile(lockfilePath, verifier.lockfile) };
}

/** A ToolVerifier over the pinned trust root, the lockfile and the registry. */
export async function openVerifier(options: OpenVerifierOptions): Promise<OpenedVerifier> {
  const registry = new RegistryClient({ baseUrl: options.registry });
  const lockfilePath = options.lockfilePath;
  const { lockfile, lockfileExists } = await lockfileAt(lockfilePath, options.allowMissingLockfile);
  const trustRoot = await loadTrust(options);
  const log = await createLogChecker({
    logKey: trustRoot.logKey,
    registry,
    ...(trustRoot.logOrigin ? { origin: trustRoot.logOrigin } : {}),
    ...(lockfile.checkpoint ? { checkpoint: lockfile.checkpoint } : {}),
  });
  const verifier: ToolVerifier = new ToolVerifier({
    trustRoot,
    log,
    lockfile,
    registry,
    ...choices(options),
    ...(options.persist && lockfilePath !== undefined && lockfileExists ? { onLockfileChange: (next: Lockfile) => writeLockfile(lockfilePath, next) } : {}),
  });
  return {
    verifier,
    registry,
    lockfileExists,
    save: async () => {
      if (lockfilePath !== undefined) await writeLockfile(lockfilePath, verifier.lockfile);
    },
  };
}
