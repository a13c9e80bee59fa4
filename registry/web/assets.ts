import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The bundled browser script's file name (built by `npm run build`, see browser/build.ts). */
export const WEB_BUNDLE = 'web.js';

/** Where `npm run build` writes the browser bundle: next to this module in dist/. */
export const DEFAULT_WEB_ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

export interface StaticAsset {
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

/** A file read once and kept with its gzip form; undefined when it is not there (not built). */
export function loadAsset(dir: string, name: string): StaticAsset | undefined {
  let body: Buffer;
  try {
    body = readFileSync(join(dir, name));
  } catch {
    return undefined;
  }
  return { body, gzip: gzipSync(body, { level: 9 }), etag: `"${body.length.toString(16)}-${simpleHash(body)}"` };
}

export function textAsset(text: string): StaticAsset {
  const body = Buffer.from(text);
  return { body, gzip: gzipSync(body, { level: 9 }), etag: `"${body.length.toString(16)}-${simpleHash(body)}"` };
}

/** FNV-1a over the bytes: an ETag only has to change when the file does. */
function simpleHash(bytes: Buffer): string {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16);
}
