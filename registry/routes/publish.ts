import type { RequestHandler } from 'express';
import { readJsonBody, readRawBody } from '../http/body.js';
import { publish } from '../services/publish.js';
import { publishDeclarations } from '../services/publish-declarations.js';
import type { Services } from './services.js';
import { sendJson } from './tools.js';

/** The publish route's path (registered on the app itself, like the record GET: no nested router). */
export const PUBLISH_PATH = '/v1/tools';

/**
 * POST /v1/tools: authenticate, read the body (413 before any parsing), verify and commit
 * (services/publish.ts), then answer with the record, which primes the read cache.
 */
export function publishHandler(services: Services): RequestHandler {
  const { ctx, reads } = services;
  return async (req, res) => {
    const principal = await services.authenticate(req);
    const raw = await readRawBody(req, ctx.config.maxBodyBytes);
    const result = await publish(ctx, principal, raw);
    const record = reads.remember(result.row);
    res
      .writeHead(result.created ? 201 : 200, {
        'Content-Type': 'application/json',
        'Content-Length': record.body.length,
        ETag: record.etag,
        Location: `/v1/tools/${result.row.tool_id}/versions/${encodeURIComponent(result.row.version)}`,
        'Cache-Control': 'no-store',
      })
      .end(record.body);
  };
}

/** The SEP-3140 publish route's path. */
export const DECLARATIONS_PATH = '/v1/declarations';

/**
 * POST /v1/declarations: a SEP-3140 capability manifest and its declarations
 * (services/publish-declarations.ts); every tool's record primes the read cache.
 */
export function declarationsHandler(services: Services): RequestHandler {
  const { ctx, reads } = services;
  return async (req, res) => {
    const principal = await services.authenticate(req);
    const body = await readJsonBody(req, ctx.config.maxDeclarationsBodyBytes);
    const result = await publishDeclarations(ctx, principal, body);
    for (const { row } of result.rows) reads.remember(row);
    sendJson(res, result.rows.some((r) => r.created) ? 201 : 200, result.answer);
  };
}
