// Installs packed workspace packages into a new project with no network: `npm ci --offline`
// takes every third-party package from the npm cache that the project's own `npm ci` filled.
// `npm install --offline` cannot: it needs each package's registry metadata, which `npm ci`
// never fetches (it installs from the lockfile). So the new project gets a lockfile too, made
// from the project's own: the same versions and integrity hashes, for exactly the packages the
// packed ones depend on.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

interface LockEntry {
  version?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

export interface PackedPackage {
  /** The tarball, already copied into the project directory. */
  tarball: string;
  manifest: { name: string; version: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string>; peerDependenciesMeta?: Record<string, { optional?: boolean }> };
}

const FLAGS = ['dev', 'devOptional', 'optional', 'peer', 'extraneous'];

/** The lock path a package `name` required from `from` resolves to (Node's walk up the tree). */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (packages[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}

function requiredDeps(entry: LockEntry): [string, boolean][] {
  const optionalPeer = (n: string): boolean => entry.peerDependenciesMeta?.[n]?.optional === true;
  return [
    ...Object.keys(entry.dependencies ?? {}).map((n): [string, boolean] => [n, false]),
    ...Object.keys(entry.optionalDependencies ?? {}).map((n): [string, boolean] => [n, true]),
    ...Object.keys(entry.peerDependencies ?? {}).map((n): [string, boolean] => [n, optionalPeer(n)]),
  ];
}

/**
 * Writes package.json and package-lock.json for a project at `dir` depending on the packed
 * packages and on `extra` (third-party names, at the versions of `rootLockPath`).
 */
export function writeOfflineProject(dir: string, rootLockPath: string, packed: readonly PackedPackage[], extra: readonly string[]): void {
  const root = JSON.parse(readFileSync(rootLockPath, 'utf8')) as { packages: Record<string, LockEntry> };
  const local = new Set(packed.map((p) => p.manifest.name));
  const packages: Record<string, LockEntry> = {};
  const dependencies: Record<string, string> = {};
  const queue: [string, string, boolean][] = []; // [from, name, optional]
  for (const p of packed) {
    const file = `file:${basename(p.tarball)}`;
    dependencies[p.manifest.name] = file;
    packages[`node_modules/${p.manifest.name}`] = {
      version: p.manifest.version,
      resolved: file,
      integrity: `sha512-${createHash('sha512').update(readFileSync(p.tarball)).digest('base64')}`,
      ...(p.manifest.dependencies ? { dependencies: p.manifest.dependencies } : {}),
      ...(p.manifest.peerDependencies ? { peerDependencies: p.manifest.peerDependencies } : {}),
      ...(p.manifest.peerDependenciesMeta ? { peerDependenciesMeta: p.manifest.peerDependenciesMeta } : {}),
    };
    for (const [name, optional] of requiredDeps(p.manifest)) if (!local.has(name)) queue.push(['', name, optional]);
  }
  for (const name of extra) {
    const entry = root.packages[`node_modules/${name}`];
    if (entry?.version === undefined) throw new Error(`${name} is not in ${rootLockPath}`);
    dependencies[name] = entry.version;
    queue.push(['', name, false]);
  }
  while (queue.length > 0) {
    const [from, name, optional] = queue.shift()!;
    const path = resolveIn(root.packages, from, name);
    if (path === undefined) {
      if (optional) continue;
      throw new Error(`${name} (needed by ${from || 'the project'}) is not in ${rootLockPath}`);
    }
    if (packages[path] !== undefined) continue;
    const entry = root.packages[path]!;
    if (entry.link === true) throw new Error(`${name} is a workspace link in ${rootLockPath}: pack it instead`);
    packages[path] = Object.fromEntries(Object.entries(entry).filter(([k]) => !FLAGS.includes(k)));
    for (const [dep, depOptional] of requiredDeps(entry)) queue.push([path, dep, depOptional]);
  }
  const manifest = { name: 'etdi-packed-host', version: '1.0.0', private: true, type: 'module', dependencies };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages: { '': { name: manifest.name, version: manifest.version, dependencies }, ...packages } }, null, 2),
  );
}
