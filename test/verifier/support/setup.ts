import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lockfile, VersionBundle } from '../../../schemas/index.js';
import { ToolVerifier, createLogChecker, decodeBundle, type ToolVerifierOptions, type ValidatedBundle } from '../../../client-verifier/index.js';
import { FixtureRegistry, type FixtureRegistryOptions } from './fixture-registry.js';

const here = new URL('../../fixtures/verifier/', import.meta.url);

/** Real tool definitions (server-memory), parsed from the captured tools/list output. */
export function realTools(server: 'memory' | 'filesystem' | 'sequential-thinking' = 'memory'): Record<string, unknown>[] {
  return JSON.parse(readFileSync(new URL(`${server}.json`, here), 'utf8')) as Record<string, unknown>[];
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'etdi-verifier-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function newRegistry(dir: string, options: Partial<FixtureRegistryOptions> = {}): FixtureRegistry {
  return new FixtureRegistry({ dir, ...options });
}

/** A verifier trusting `reg`, with offline bundles and consistency proofs from `proofsFrom` (default reg). */
export async function newVerifier(
  reg: FixtureRegistry,
  bundles: VersionBundle[] = [],
  options: Partial<ToolVerifierOptions> & { lockfile?: Lockfile; proofsFrom?: FixtureRegistry } = {},
): Promise<ToolVerifier> {
  const proofs = options.proofsFrom ?? reg;
  const log = await createLogChecker({
    logKey: reg.log.verifierKey(),
    ...(options.lockfile?.checkpoint ? { checkpoint: options.lockfile.checkpoint } : {}),
    fetchConsistencyProof: async (from, to) => proofs.log.consistencyProof(from, to),
  });
  return new ToolVerifier({ trustRoot: reg.trustRootConfig(), log, bundles: bundles.map(asValidated), ...options });
}

/** A bundle as a host reads it from a file (decodeBundle: strict JSON and the schema). */
export const asValidated = (bundle: VersionBundle): ValidatedBundle => decodeBundle(JSON.stringify(bundle));

/** A copy of a JSON value (what a server would send again). */
export const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
