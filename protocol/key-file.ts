/**
 * Private key files (Node only, not part of the portable protocol index): a JWK written with
 * mode 0600, atomically, never logged. Readers refuse files that others can read.
 */
import { createPrivateKey } from 'node:crypto';
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

/**
 * An Ed25519 private key file: the JWK `etdi keygen` writes, or the PKCS#8 PEM `openssl genpkey
 * -algorithm Ed25519` writes (the key a provider already published for the official MCP
 * Registry's domain proofs, reused as is).
 */
export async function readPrivateKeyFile(path: string): Promise<Ed25519PrivateJwk> {
  const info = await stat(path);
  if (process.platform !== 'win32' && (info.mode & 0o077) !== 0)
    throw new ProtocolError('INVALID_KEY', `private key file ${path} is readable by others (mode ${(info.mode & 0o777).toString(8)}); chmod 600 it`);
  const bytes = await readFile(path);
  if (bytes.length > 4096) throw new ProtocolError('INVALID_KEY', `${path} is larger than a private key file (4096 bytes)`);
  const text = bytes.toString('latin1');
  const parsed = Ed25519PrivateJwkSchema.safeParse(text.trimStart().startsWith('-----BEGIN ') ? jwkOfPem(text) : parseStrictJson(bytes, { maxBytes: 4096 }));
  // Never echo the file's content: it is a secret.
  if (!parsed.success) throw new ProtocolError('INVALID_KEY', `${path} is not an Ed25519 private key (a JWK, or PKCS#8 PEM)`);
  privateKeySeed(parsed.data);
  return parsed.data;
}

/** A PEM private key as a JWK when it is Ed25519; undefined otherwise (never the key's text in an error). */
function jwkOfPem(text: string): unknown {
  try {
    const key = createPrivateKey({ key: text, format: 'pem' });
    return key.asymmetricKeyType === 'ed25519' ? key.export({ format: 'jwk' }) : undefined;
  } catch {
    return undefined;
  }
}
