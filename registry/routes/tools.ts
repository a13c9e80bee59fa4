import { Router, type Request, type RequestHandler, type Response } from 'express';
import { checkSchema } from '@etdi/protocol';
import { BundleSetRequestSchema, DigestSchema, RevokeVersionRequestSchema, VersionSchema } from '@etdi/schemas';
import { RegistryError } from '../errors.js';
import { readJsonBody } from '../http/body.js';
import { chargeExtra } from '../http/rate-limit.js';
import { revokeVersion } from '../services/publish.js';
import type { Services } from './services.js';

/** Version records never change: cache them for a year, everywhere. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Statuses carry revocations and fresh attestations: keep them short-lived. */
export const SHORT_LIVED = 'public, max-age=30';

const toolIdOf = (req: Request): string => `${String(req.params.namespace)}/${String(req.params.name)}`;

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header === etag || header === '*') return true;
  return header.split(',').some((t) => t.trim() === etag);
}

function sendJson(res: Response, status: number, value: unknown, cacheControl = 'no-store'): void {
  const body = JSON.stringify(value);
  res
    .writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': cacheControl })
    .end(body);
}

/** The record route's path (registered on the app itself: the hot path skips the nested router). */
export const RECORD_PATH = '/v1/tools/:namespace/:name/versions/:version';

/** The hot read path: a cache lookup and the stored bytes. */
export function recordHandler(services: Services): RequestHandler {
  const { reads } = services;
  return async (req, res) => {
    const toolId = toolIdOf(req);
    let version = req.params.version as string;
    const latest = version === 'latest';
    if (latest) version = await reads.resolveVersion(toolId, version);
    // a cache hit is answered without a store read (records never change)
    const record = reads.records.get(`${toolId}@${version}`) ?? (await reads.record(toolId, version));
    // `latest` moves: never cache it as immutable
    const cacheControl = latest ? SHORT_LIVED : IMMUTABLE;
    if (!latest && etagMatches(req.headers['if-none-match'], record.etag)) {
      res.writeHead(304, { ETag: record.etag, 'Cache-Control': cacheControl }).end();
      return;
    }
    res
      .writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': record.body.length,
        ETag: record.etag,
        'Cache-Control': cacheControl,
      })
      .end(record.body);
  };
}

export function toolsRouter(services: Services): Router {
  const { ctx, reads } = services;
  const router = Router();

  router.get('/v1/tools', async (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q : undefined;
    const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : undefined;
    const limitText = typeof req.query.limit === 'string' ? req.query.limit : '50';
    const limit = Number(limitText);
    if (!/^\d{1,3}$/.test(limitText) || limit < 1 || limit > 200)
      throw new RegistryError('BAD_REQUEST', 'limit must be an integer from 1 to 200');
    if (q !== undefined && q.length > 128) throw new RegistryError('BAD_REQUEST', 'q must be at most 128 characters');
    sendJson(res, 200, await reads.tools(q, cursor, limit), 'public, max-age=5');
  });

  // POST /v1/tools is served by routes/publish.ts, ahead of the router (app.ts).

  router.get('/v1/tools/:namespace/:name/versions', async (req, res) => {
    const digest = req.query.definitionDigest;
    if (digest !== undefined && !DigestSchema.safeParse(digest).success)
      throw new RegistryError('BAD_REQUEST', 'definitionDigest must be one `sha256:` and 64 lower-case hex digits');
    const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : undefined;
    const limitText = typeof req.query.limit === 'string' ? req.query.limit : '100';
    const limit = Number(limitText);
    if (!/^\d{1,3}$/.test(limitText) || limit < 1 || limit > 200)
      throw new RegistryError('BAD_REQUEST', 'limit must be an integer from 1 to 200');
    const options = { limit, ...(digest === undefined ? {} : { definitionDigest: digest as string }), ...(cursor === undefined ? {} : { cursor }) };
    sendJson(res, 200, await reads.versions(toolIdOf(req), options), 'public, max-age=5');
  });


  router.get('/v1/tools/:namespace/:name/versions/:version/status', async (req, res) => {
    const toolId = toolIdOf(req);
    const version = await reads.resolveVersion(toolId, req.params.version as string);
    sendJson(res, 200, await reads.status(toolId, version), SHORT_LIVED);
  });

  router.get('/v1/tools/:namespace/:name/versions/:version/bundle', async (req, res) => {
    const toolId = toolIdOf(req);
    const version = await reads.resolveVersion(toolId, req.params.version as string);
    const record = await reads.record(toolId, version);
    const status = await reads.status(toolId, version);
    // splice the cached record bytes in: no re-serialisation of the signed manifest
    const body = `{"type":"etdi.bundle/v1","record":${record.body.toString('utf8')},"status":${JSON.stringify(status)}}`;
    res
      .writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': SHORT_LIVED })
      .end(body);
  });

  // Many bundles under one attestation: what a host needs to verify a server's whole tool list
  // with one request and one registry signature. A POST for the body, but a read: no auth.
  router.post('/v1/bundles', async (req, res) => {
    const body = checkSchema(BundleSetRequestSchema, await readJsonBody(req, ctx.config.maxBodyBytes), 'bundle-set request');
    // it does the work of one bundle GET per version: it costs as many rate-limit tokens
    chargeExtra(services.limiter, req, body.versions.length);
    const text = await reads.bundleSet(body);
    res
      .writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' })
      .end(text);
  });

  router.post('/v1/tools/:namespace/:name/versions/:version/revoke', async (req, res) => {
    const principal = await services.authenticate(req);
    const body = checkSchema(RevokeVersionRequestSchema, await readJsonBody(req, ctx.config.maxBodyBytes), 'version revocation');
    const version = req.params.version as string;
    if (!VersionSchema.safeParse(version).success) throw new RegistryError('VERSION_NOT_FOUND', `${version} is not a version`);
    await revokeVersion(ctx, principal, toolIdOf(req), version, body.reason);
    sendJson(res, 200, await reads.status(toolIdOf(req), version));
  });

  return router;
}

export { sendJson };
