/**
 * The two documents a SEP-3140 client discovers: the server's RFC 9728 Protected Resource
 * Metadata (served at `/.well-known/oauth-protected-resource<path of the server URI>`) naming the
 * publisher and its signing JWKS, and that JWKS. Plain values: serve them with any HTTP stack.
 */
import {
  PROTECTED_RESOURCE_METADATA_PATH,
  type DeclarationsJwks,
  type Ed25519PrivateJwk,
  type Ed25519PublicJwk,
  type ProtectedResourceMetadata,
} from '@etdi/schemas';
import { jwkThumbprint } from '@etdi/protocol';

/** The publisher's signing JWKS: the public half of each key, under its `kid` (default its RFC 7638 thumbprint). */
export function publisherJwks(keys: readonly { key: Ed25519PublicJwk | Ed25519PrivateJwk; kid?: string }[]): DeclarationsJwks {
  return {
    keys: keys.map(({ key, kid }) => ({ kty: 'OKP', crv: 'Ed25519', x: key.x, kid: kid ?? jwkThumbprint(key), alg: 'EdDSA', use: 'sig' })),
  };
}

/** The server's Protected Resource Metadata with the SEP-3140 members. */
export function protectedResourceMetadata(options: { serverUri: string; publisher: string; jwksUri: string; authorizationServers?: readonly string[] }): ProtectedResourceMetadata {
  return {
    resource: options.serverUri,
    ...(options.authorizationServers !== undefined ? { authorization_servers: [...options.authorizationServers] } : {}),
    mcp_publisher: options.publisher,
    mcp_signing_jwks_uri: options.jwksUri,
  };
}

/** The path at which a server's metadata is served (RFC 9728 section 3.1): `/.well-known/oauth-protected-resource/mcp` for `https://host/mcp`. */
export function protectedResourceMetadataPath(serverUri: string): string {
  const url = new URL(serverUri);
  return `${PROTECTED_RESOURCE_METADATA_PATH}${url.pathname === '/' ? '' : url.pathname}`;
}
