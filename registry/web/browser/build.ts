import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';

/** The checkout root: where registry/web/browser/main.ts is (this file runs from the sources or from dist/). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'registry', 'web', 'browser', 'main.ts'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('registry/web/browser/main.ts not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/**
 * Bundles the browser script (registry/web/browser/main.ts, the client verifier and protocol code
 * it imports) into `<outDir>/web.js` with esbuild (a dev dependency: only the build needs it).
 * zod's error messages are kept in English only: its other locales would be most of the bundle.
 */
export async function buildWebBundle(outDir: string): Promise<{ files: { name: string; bytes: number; gzipBytes: number }[] }> {
  const esbuild = await import('esbuild');
  const zodEnglishOnly = {
    name: 'zod-english-only',
    setup(build: import('esbuild').PluginBuild): void {
      build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        args.importer.includes(`${sep}zod${sep}`) ? { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
        contents: `export { default as en } from ${JSON.stringify(args.path)};`,
        resolveDir: dirname(args.path),
      }));
    },
  };
  mkdirSync(outDir, { recursive: true });
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [join(projectRoot(), 'registry', 'web', 'browser', 'main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox128', 'safari17'],
    outdir: outDir,
    entryNames: 'web',
    chunkNames: 'chunk-[hash]',
    splitting: true,
    metafile: true,
    plugins: [zodEnglishOnly],
    // @etdi/* from their TypeScript sources: the bundle never depends on a stale dist/
    conditions: ['etdi-source'],
    logLevel: 'warning',
    legalComments: 'none',
  });
  const files = Object.keys(result.metafile.outputs)
    .filter((f) => f.endsWith('.js'))
    .map((f) => ({ name: basename(f), bytes: statSync(f).size, gzipBytes: gzipSync(readFileSync(f), { level: 9 }).length }));
  return { files };
}

// `node dist/registry/web/browser/build.js`: the build step of `npm run build`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = fileURLToPath(new URL('../assets/', import.meta.url));
  const { files } = await buildWebBundle(outDir);
  for (const f of files) console.log(`browser bundle: ${f.name} ${(f.bytes / 1024).toFixed(1)} KB (${(f.gzipBytes / 1024).toFixed(1)} KB gzip)`);
}
