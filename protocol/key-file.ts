/**
 * Private key files (Node only, not part of the portable protocol index): a JWK written with
 * mode 0600, atomically, never logged. Readers refuse files that others can read.
 */
import { chmod, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { Ed25519PrivateJwkSchema, type Ed25519PrivateJwk } from '@etdi/schemas';
import { ProtocolError } from './errors.js';
import { privateKeySeed } from './jwk.js';
import { parseStrictJson } from './strict-json.js';

export async function writePrivateKeyFile(path: string, jwk: Ed25519PrivateJwk): Promise<void> {
  privateKeySeed(jwk); // refuse to write a key whose halves do not match
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(jwk, null, 2) + '\n');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(tmp, 0o600); // the umask cannot widen it, but be explicit
  try {
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

export async function readPrivateKeyFile(path: string): Promise<Ed25519PrivateJwk> {
  const info = await stat(path);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0)
    throw new ProtocolError('INVALID_KEY', `private key file ${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
  const parsed = Ed25519PrivateJwkSchema.safeParse(parseStrictJson(await readFile(path), { maxBytes: 4096 }));
  // Never echo the file's content: it is a secret.
  if (!parsed.success) throw new ProtocolError('INVALID_KEY', `${path} is not an Ed25519 private JWK`);
  privateKeySeed(parsed.data);
  return parsed.data;
}
