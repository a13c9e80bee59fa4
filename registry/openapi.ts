import { z } from 'zod';
import {
  AddKeyRequestSchema,
  BundleSetRequestSchema,
  BundleSetSchema,
  DeclarationsPublishResultSchema,
  DeclarationsPublishSchema,
  JwksSchema,
  KeyListResponseSchema,
  ConsistencyProofSchema,
  InclusionProofSchema,
  ReadinessSchema,
  RegistryKeyRevocationResponseSchema,
  KeyStatusSchema,
  LogEntriesResponseSchema,
  LogKeyResponseSchema,
  NamespaceInfoSchema,
  ProblemSchema,
  RegisterNamespaceRequestSchema,
  RegistryKeyRotationResponseSchema,
  RegistryMetadataSchema,
  RevokeKeyRequestSchema,
  RevokeVersionRequestSchema,
  SignedManifestSchema,
  TokenRequestSchema,
  TokenResponseSchema,
  ToolListResponseSchema,
  VersionBundleSchema,
  VersionListResponseSchema,
  VersionRecordSchema,
  VersionStatusSchema,
} from '@etdi/schemas';

/** A query parameter: a name alone is an optional string. */
export interface QueryParam {
  name: string;
  required?: boolean;
  type?: 'string' | 'integer';
  enum?: string[];
  description?: string;
}

/** A non-negative decimal integer below 2^53, as the log's parameters are parsed. */
const SIZE = { type: 'integer' } as const;

export interface RouteSpec {
  method: 'get' | 'post';
  /** OpenAPI path template. */
  path: string;
  summary: string;
  auth: 'none' | 'publisher-or-admin' | 'admin' | 'optional-admin';
  request?: z.ZodType;
  response?: z.ZodType;
  status: number;
  query?: (string | QueryParam)[];
  /** The success body's media type, when not JSON (the checkpoint is a signed note, text). */
  responseType?: 'text/plain';
  /** Problem codes this route can answer with (besides 429 and 500). */
  errors: string[];
}

/** The route table: the single description of the API that /openapi.json is generated from. */
export const ROUTES: readonly RouteSpec[] = [
  { method: 'get', path: '/.well-known/etdi-registry.json', summary: 'What a host pins: attestation issuer and audience, JWKS location, log origin and verifier key', auth: 'none', response: RegistryMetadataSchema, status: 200, errors: [] },
  { method: 'get', path: '/.well-known/jwks.json', summary: "The registry's JWT signing keys (attestations, publisher tokens)", auth: 'none', response: JwksSchema, status: 200, errors: [] },
  { method: 'post', path: '/v1/namespaces', summary: 'Register a namespace with its first key (proof of possession; domain control, also by an MCP Registry proof, or admin grant)', auth: 'optional-admin', request: RegisterNamespaceRequestSchema, response: NamespaceInfoSchema, status: 201, errors: ['SCHEMA_INVALID', 'WRONG_REGISTRY', 'STATEMENT_STALE', 'STATEMENT_REPLAYED', 'BAD_PROOF', 'DOMAIN_NOT_VERIFIED', 'NAMESPACE_IS_ADDRESS', 'NAMESPACE_MISMATCH', 'DNS_PROOF_NOT_CONFIGURED', 'NAMESPACE_EXISTS', 'NAMESPACE_LOOKALIKE', 'UNAUTHENTICATED', 'FORBIDDEN', 'OVERLOADED', 'ADMIN_NOT_CONFIGURED', 'TOKEN_EXPIRED'] },
  { method: 'get', path: '/v1/namespaces/{namespace}', summary: 'A namespace', auth: 'none', response: NamespaceInfoSchema, status: 200, errors: ['NAMESPACE_NOT_FOUND'] },
  { method: 'get', path: '/v1/namespaces/{namespace}/keys', summary: "A namespace's keys with their status", auth: 'none', response: KeyListResponseSchema, status: 200, errors: ['NAMESPACE_NOT_FOUND'] },
  { method: 'post', path: '/v1/namespaces/{namespace}/keys', summary: 'Add a key (signed by an active key, and by the new key)', auth: 'publisher-or-admin', request: AddKeyRequestSchema, response: KeyStatusSchema, status: 201, errors: ['SCHEMA_INVALID', 'WRONG_REGISTRY', 'STATEMENT_STALE', 'STATEMENT_REPLAYED', 'BAD_PROOF', 'UNTRUSTED_SIGNER', 'KEY_REVOKED', 'KEY_EXISTS', 'NAMESPACE_MISMATCH', 'UNAUTHENTICATED', 'FORBIDDEN', 'ADMIN_NOT_CONFIGURED', 'TOKEN_EXPIRED'] },
  { method: 'post', path: '/v1/namespaces/{namespace}/keys/{keyId}/revoke', summary: 'Revoke a key from a time on', auth: 'publisher-or-admin', request: RevokeKeyRequestSchema, response: KeyStatusSchema, status: 200, errors: ['SCHEMA_INVALID', 'KEY_NOT_FOUND', 'KEY_REVOKED', 'REVOCATION_NEEDS_ADMIN', 'UNAUTHENTICATED', 'FORBIDDEN', 'ADMIN_NOT_CONFIGURED', 'TOKEN_EXPIRED'] },
  { method: 'post', path: '/v1/tokens', summary: 'Obtain a publisher token (statement signed by an active key)', auth: 'none', request: TokenRequestSchema, response: TokenResponseSchema, status: 201, errors: ['SCHEMA_INVALID', 'WRONG_REGISTRY', 'STATEMENT_STALE', 'STATEMENT_REPLAYED', 'BAD_PROOF', 'UNTRUSTED_SIGNER', 'KEY_REVOKED'] },
  { method: 'get', path: '/v1/tools', summary: 'List and search tools (cursor pagination)', auth: 'none', query: ['q', 'cursor', 'limit'], response: ToolListResponseSchema, status: 200, errors: ['BAD_REQUEST'] },
  { method: 'post', path: '/v1/tools', summary: 'Publish a signed manifest (201 new, 200 identical republish)', auth: 'publisher-or-admin', request: SignedManifestSchema, response: VersionRecordSchema, status: 201, errors: ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INVALID_JSON', 'DUPLICATE_KEY', 'SCHEMA_INVALID', 'TOO_LARGE', 'NAMESPACE_NOT_FOUND', 'NAMESPACE_MISMATCH', 'UNSIGNED', 'BAD_SIGNATURE', 'UNTRUSTED_SIGNER', 'KEY_REVOKED', 'ISSUED_IN_FUTURE', 'POLICY_INVALID', 'VERSION_EXISTS', 'VERSION_NOT_HIGHER', 'TOO_MANY_VERSIONS', 'TOO_MANY_TOOLS', 'UNAUTHENTICATED', 'WRITER_UNAVAILABLE', 'ADMIN_NOT_CONFIGURED', 'TOKEN_EXPIRED'] },
  { method: 'post', path: '/v1/declarations', summary: "Publish a SEP-3140 server's signed capability manifest and its declarations: each tool a version of <publisher's domain, reversed>/<name>, all or none (201 any new, 200 identical republish)", auth: 'publisher-or-admin', request: DeclarationsPublishSchema, response: DeclarationsPublishResultSchema, status: 201, errors: ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INVALID_JSON', 'DUPLICATE_KEY', 'SCHEMA_INVALID', 'TOO_LARGE', 'NAMESPACE_NOT_FOUND', 'NAMESPACE_MISMATCH', 'BAD_SIGNATURE', 'INVALID_KEY', 'UNTRUSTED_SIGNER', 'KEY_REVOKED', 'ISSUED_IN_FUTURE', 'MANIFEST_EXPIRED', 'DEFINITION_MISMATCH', 'UNKNOWN_TRUST_LABEL', 'VERSION_EXISTS', 'VERSION_NOT_HIGHER', 'TOO_MANY_VERSIONS', 'TOO_MANY_TOOLS', 'UNAUTHENTICATED', 'ADMIN_NOT_CONFIGURED', 'TOKEN_EXPIRED'] },
  { method: 'get', path: '/v1/tools/{namespace}/{name}/versions', summary: "A page of a tool's version summaries, newest first (cursor pagination, `limit` 1-200, 100 by default); `definitionDigest` keeps those that publish that definition (which version a server lists)", auth: 'none', query: ['definitionDigest', 'cursor', 'limit'], response: VersionListResponseSchema, status: 200, errors: ['BAD_REQUEST', 'TOOL_NOT_FOUND'] },
  { method: 'get', path: '/v1/tools/{namespace}/{name}/versions/{version}', summary: 'The immutable version record (strong ETag; `latest` allowed, short-lived)', auth: 'none', response: VersionRecordSchema, status: 200, errors: ['TOOL_NOT_FOUND', 'VERSION_NOT_FOUND'] },
  { method: 'get', path: '/v1/tools/{namespace}/{name}/versions/{version}/status', summary: 'Revocation status, signer key, attestation token, log inclusion proof', auth: 'none', response: VersionStatusSchema, status: 200, errors: ['TOOL_NOT_FOUND', 'VERSION_NOT_FOUND'] },
  { method: 'get', path: '/v1/tools/{namespace}/{name}/versions/{version}/bundle', summary: 'Record and status together (offline verification)', auth: 'none', response: VersionBundleSchema, status: 200, errors: ['TOOL_NOT_FOUND', 'VERSION_NOT_FOUND'] },
  { method: 'post', path: '/v1/bundles', summary: 'Bundles of many versions (`latest` allowed) under ONE attestation set; unknown versions listed in `missing`', auth: 'none', request: BundleSetRequestSchema, response: BundleSetSchema, status: 200, errors: ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'INVALID_JSON', 'SCHEMA_INVALID', 'BUNDLE_SET_TOO_LARGE'] },
  { method: 'post', path: '/v1/tools/{namespace}/{name}/versions/{version}/revoke', summary: 'Revoke a version (provider with a reason, or admin)', auth: 'publisher-or-admin', request: RevokeVersionRequestSchema, response: VersionStatusSchema, status: 200, errors: ['SCHEMA_INVALID', 'VERSION_NOT_FOUND', 'VERSION_ALREADY_REVOKED', 'UNAUTHENTICATED', 'FORBIDDEN', 'ADMIN_NOT_CONFIGURED', 'TOKEN_EXPIRED'] },
  { method: 'post', path: '/v1/admin/registry-keys/rotate', summary: "Rotate the registry's JWT signing key (old key stays in the JWKS until its tokens expire)", auth: 'admin', response: RegistryKeyRotationResponseSchema, status: 200, errors: ['UNAUTHENTICATED', 'FORBIDDEN', 'ADMIN_NOT_CONFIGURED', 'TOKEN_EXPIRED'] },
  { method: 'post', path: '/v1/admin/registry-keys/{kid}/revoke', summary: 'Emergency revocation of a registry JWT signing key: out of the JWKS and verifying nothing at once (a new key signs if it was the current one)', auth: 'admin', response: RegistryKeyRevocationResponseSchema, status: 200, errors: ['KEY_NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN'] },
  { method: 'get', path: '/healthz', summary: 'Liveness: the process answers (never rate-limited)', auth: 'none', status: 200, errors: [] },
  { method: 'get', path: '/readyz', summary: 'Readiness: database and log readable, publish writer up, not shutting down (503 with the same body otherwise)', auth: 'none', response: ReadinessSchema, status: 200, errors: [] },
  { method: 'get', path: '/v1/log/checkpoint', summary: 'The newest signed checkpoint: a C2SP signed note (origin, tree size, root hash, signature lines)', auth: 'none', status: 200, responseType: 'text/plain', errors: [] },
  { method: 'get', path: '/v1/log/entries', summary: `Leaves [start, end) of the log, at most 256 per page (\`end\` in the answer says where the page stopped)`, auth: 'none', query: [{ name: 'start', required: true, ...SIZE, description: 'first leaf index' }, { name: 'end', required: true, ...SIZE, description: 'one past the last leaf index wanted' }, { name: 'encoding', type: 'string', enum: ['utf8', 'base64'], description: 'leaf data as UTF-8 text (default) or base64' }], response: LogEntriesResponseSchema, status: 200, errors: ['LOG_BAD_REQUEST'] },
  { method: 'get', path: '/v1/log/proof/inclusion', summary: 'RFC 9162 inclusion proof of one leaf, by index or by leaf hash (exactly one of them)', auth: 'none', query: [{ name: 'index', ...SIZE, description: 'the leaf index' }, { name: 'leafHash', type: 'string', description: 'the leaf hash, standard base64 (32 bytes)' }, { name: 'size', ...SIZE, description: 'tree size to prove against; default the newest checkpoint' }], response: InclusionProofSchema, status: 200, errors: ['LOG_BAD_REQUEST', 'LOG_NOT_FOUND'] },
  { method: 'get', path: '/v1/log/proof/consistency', summary: 'RFC 9162 consistency proof between two tree sizes', auth: 'none', query: [{ name: 'from', required: true, ...SIZE, description: 'the older tree size' }, { name: 'to', ...SIZE, description: 'the newer tree size; default the newest checkpoint' }], response: ConsistencyProofSchema, status: 200, errors: ['LOG_BAD_REQUEST'] },
  { method: 'get', path: '/v1/log/key', summary: "The log's checkpoint origin and note verifier key (what clients pin), and its JWK", auth: 'none', response: LogKeyResponseSchema, status: 200, errors: [] },
  { method: 'get', path: '/openapi.json', summary: 'This document', auth: 'none', status: 200, errors: [] },
];

const schema = (s: z.ZodType): unknown => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

/** OpenAPI 3.1 generated from the route table and the zod schemas (never hand-kept). */
export function buildOpenApi(origin: string, version = '0.1.0'): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const problem = { 'application/problem+json': { schema: schema(ProblemSchema) } };
  for (const route of ROUTES) {
    const parameters = [
      ...[...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } })),
      ...(route.query ?? []).map((q) => {
        const p: QueryParam = typeof q === 'string' ? { name: q } : q;
        const schema = p.type === 'integer' ? { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } : { type: 'string', ...(p.enum ? { enum: p.enum } : {}) };
        return { name: p.name, in: 'query', required: p.required ?? false, schema, ...(p.description ? { description: p.description } : {}) };
      }),
    ];
    const responses: Record<string, unknown> = {
      [String(route.status)]: {
        description: route.summary,
        ...(route.response ? { content: { 'application/json': { schema: schema(route.response) } } } : {}),
        ...(route.responseType === 'text/plain' ? { content: { 'text/plain': { schema: { type: 'string' } } } } : {}),
      },
      default: { description: `Problem document; codes: ${[...route.errors, 'RATE_LIMITED', 'INTERNAL'].join(', ')}`, content: problem },
    };
    const operation: Record<string, unknown> = {
      summary: route.summary,
      parameters,
      responses,
      'x-etdi-auth': route.auth,
      'x-etdi-error-codes': route.errors,
    };
    if (route.auth === 'publisher-or-admin' || route.auth === 'admin') operation.security = [{ bearer: [] }];
    if (route.auth === 'optional-admin') operation.security = [{}, { bearer: [] }];
    if (route.request) operation.requestBody = { required: true, content: { 'application/json': { schema: schema(route.request) } } };
    (paths[route.path] ??= {})[route.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'ETDI tool registry', version },
    servers: [{ url: origin }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
