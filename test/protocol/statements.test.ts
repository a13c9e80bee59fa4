import { describe, expect, it } from 'vitest';
import { canonicalBytes, generateKeyPair, keyAddRequest, registrationRequest, tokenRequest, verifyBytes } from '../../protocol/index.js';
import { AddKeyRequestSchema, RegisterNamespaceRequestSchema, TokenRequestSchema } from '../../schemas/index.js';

describe('registry statements', () => {
  const key = generateKeyPair();
  const fresh = generateKeyPair();
  const frame = { registry: 'https://registry.example', namespace: 'com.acme' };

  it('a registration is schema-valid and signed by its key over JCS(statement)', async () => {
    const body = await registrationRequest(key.privateJwk, frame, 'admin-grant');
    expect(RegisterNamespaceRequestSchema.parse(body)).toEqual(body);
    expect(body.statement).toMatchObject({ ...frame, keyId: key.keyId });
    expect(await verifyBytes(key.publicJwk, canonicalBytes(body.statement), body.signature)).toBe(true);
  });

  it('a token request is schema-valid and signed by its key', async () => {
    const body = await tokenRequest(key.privateJwk, frame);
    expect(TokenRequestSchema.parse(body)).toEqual(body);
    expect(await verifyBytes(key.publicJwk, canonicalBytes(body.statement), body.signature)).toBe(true);
  });

  it('a key-add is signed by the authoriser and proven by the new key', async () => {
    const body = await keyAddRequest(key.privateJwk, fresh.privateJwk, frame);
    expect(AddKeyRequestSchema.parse(body)).toEqual(body);
    expect(body.statement).toMatchObject({ keyId: fresh.keyId, authorizedBy: key.keyId });
    const bytes = canonicalBytes(body.statement);
    expect(await verifyBytes(key.publicJwk, bytes, body.signature)).toBe(true);
    expect(await verifyBytes(fresh.publicJwk, bytes, body.proof)).toBe(true);
    expect(await verifyBytes(fresh.publicJwk, bytes, body.signature)).toBe(false);
  });

  it('two statements made at once differ (fresh nonce each time)', async () => {
    const [a, b] = await Promise.all([tokenRequest(key.privateJwk, frame), tokenRequest(key.privateJwk, frame)]);
    expect(a.statement.nonce).not.toBe(b.statement.nonce);
  });
});
