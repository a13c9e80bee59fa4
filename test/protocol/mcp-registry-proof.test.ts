import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MCP_REGISTRY_RECORD_PATTERN, ProtocolError, generateKeyPair, jwkThumbprint, mcpRegistryProof, mcpRegistryRecord } from '../../protocol/index.js';
import { readPrivateKeyFile } from '../../protocol/node.js';

// The official MCP Registry's proof made with an etdi key, checked the way that registry and its
// documentation make and check it (github.com/modelcontextprotocol/registry,
// docs/modelcontextprotocol-io/authentication.mdx, internal/api/handlers/v0/auth/common.go),
// with node:crypto as the second implementation.

const dir = mkdtempSync(join(tmpdir(), 'etdi-mcp-proof-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mcpRegistryRecord', () => {
  it('is the record the official docs make: base64 of the last 32 bytes of the SPKI DER (openssl pkey -pubout -outform DER | tail -c 32 | base64)', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const der = publicKey.export({ type: 'spki', format: 'der' });
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string };
    expect(mcpRegistryRecord({ x: jwk.x })).toBe(`v=MCPv1; k=ed25519; p=${der.subarray(der.length - 32).toString('base64')}`);
    expect(MCP_REGISTRY_RECORD_PATTERN.exec(mcpRegistryRecord({ x: jwk.x }))?.[1]).toBe('ed25519');
  });
});

describe('mcpRegistryProof', () => {
  it('signs the RFC 3339 timestamp (to the second) and gives the signature in hex, as mcp-publisher login does', async () => {
    const key = generateKeyPair();
    const proof = await mcpRegistryProof(key.privateJwk, 'dns', 'example.com', new Date('2026-11-25T07:00:00.123Z'));
    expect(proof).toMatchObject({ method: 'dns', domain: 'example.com', timestamp: '2026-11-25T07:00:00Z' });
    expect(proof.signed_timestamp).toMatch(/^[0-9a-f]{128}$/);
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x }, format: 'jwk' });
    expect(verify(null, Buffer.from(proof.timestamp, 'utf8'), publicKey, Buffer.from(proof.signed_timestamp, 'hex'))).toBe(true);
    expect(verify(null, Buffer.from('2026-11-25T07:00:01Z', 'utf8'), publicKey, Buffer.from(proof.signed_timestamp, 'hex'))).toBe(false);
  });
});

describe('readPrivateKeyFile', () => {
  const write = (name: string, text: string | Buffer, mode = 0o600): string => {
    writeFileSync(join(dir, name), text, { mode });
    return join(dir, name);
  };

  it('reads the PKCS#8 PEM openssl genpkey -algorithm Ed25519 writes as the same key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const jwk = await readPrivateKeyFile(write('key.pem', privateKey.export({ type: 'pkcs8', format: 'pem' })));
    expect(jwkThumbprint(jwk)).toBe(jwkThumbprint(publicKey.export({ format: 'jwk' }) as { x: string }));
  });

  it.each([
    ['an RSA key', () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['an X25519 key (not a signing key)', () => generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string],
    ['a garbled PEM', () => '-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n'],
  ])('refuses %s as INVALID_KEY, without its content in the message', async (_case, make) => {
    const text = make();
    const error = await readPrivateKeyFile(write('bad.pem', text)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe('INVALID_KEY');
    expect((error as Error).message).not.toContain(text.split('\n')[1]!);
  });

  it('refuses a PEM that others can read, as it refuses a JWK', async () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
    const error = await readPrivateKeyFile(write('open.pem', pem, 0o644)).catch((e: unknown) => e);
    expect((error as ProtocolError).code).toBe('INVALID_KEY');
  });
});
