import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { fromBase64, fromUtf8, toBase64 } from '@etdi/protocol';
import type { ConsistencyProof, InclusionProof, LogEntriesResponse, LogEntry, LogKeyResponse } from '@etdi/schemas';
import { sendProblem } from '../http/problem.js';
import { LogError } from '../log/errors.js';
import type { TransparencyLog } from '../log/transparency-log.js';

/** Largest page of GET /entries; a larger `end` is clamped (the response says where it stopped). */
export const MAX_ENTRIES_PAGE = 256;

function badRequest(message: string): LogError {
  return new LogError('LOG_BAD_REQUEST', message);
}

/** A query parameter as a decimal integer in [0, 2^53): no signs, no leading zeroes, no exponent. */
function intParam(req: Request, name: string, required: true): number;
function intParam(req: Request, name: string, required: false): number | undefined;
function intParam(req: Request, name: string, required: boolean): number | undefined {
  const raw = req.query[name];
  if (raw === undefined) {
    if (required) throw badRequest(`missing query parameter "${name}"`);
    return undefined;
  }
  if (typeof raw !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(raw)) throw badRequest(`"${name}" must be a non-negative decimal integer`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw badRequest(`"${name}" is too large`);
  return n;
}

function json(res: Response, body: unknown): void {
  const text = JSON.stringify(body);
  res
    .writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache' })
    .end(text);
}

/**
 * The log's read API, mounted by the registry at /v1/log:
 *   GET /checkpoint                          newest signed checkpoint (text/plain C2SP note)
 *   GET /entries?start=&end=[&encoding=]     leaves [start, end), at most MAX_ENTRIES_PAGE
 *   GET /proof/inclusion?index=&size=        RFC 9162 inclusion proof (size: default newest checkpoint)
 *   GET /proof/inclusion?leafHash=&size=     the same, looked up by base64 leaf hash
 *   GET /proof/consistency?from=&to=         RFC 9162 consistency proof (to: default newest checkpoint)
 *   GET /key                                 the note verifier key clients pin, and the JWK
 * Every handler is O(log n) reads (entries: O(page)). Errors are LogErrors, answered as RFC 9457
 * problem documents by the middleware at the end of this router.
 */
export function createLogRouter(log: TransparencyLog): express.Router {
  const router = express.Router();

  router.get('/checkpoint', async (_req, res) => {
    const note = await log.checkpoint();
    res
      .writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(note), 'Cache-Control': 'no-cache' })
      .end(note);
  });

  router.get('/entries', async (req, res) => {
    const start = intParam(req, 'start', true);
    const end = intParam(req, 'end', true);
    const encoding = req.query.encoding ?? 'utf8';
    if (encoding !== 'utf8' && encoding !== 'base64') throw badRequest('"encoding" must be utf8 or base64');
    const size = await log.size();
    if (start > end) throw badRequest('"start" must not exceed "end"');
    if (start > size) throw badRequest(`"start" ${start} is beyond the tree size ${size}`);
    const stop = Math.min(end, start + MAX_ENTRIES_PAGE, size);
    const entries: LogEntry[] = (await log.entries(start, stop)).map((e) => ({
      index: e.index,
      data: encoding === 'base64' ? toBase64(e.data) : fromUtf8(e.data),
    }));
    const page: LogEntriesResponse = { start, end: stop, treeSize: size, encoding, entries };
    json(res, page);
  });

  router.get('/proof/inclusion', async (req, res) => {
    const size = intParam(req, 'size', false) ?? (await log.latestCheckpoint()).size;
    let index = intParam(req, 'index', false);
    const rawHash = req.query.leafHash;
    if ((index === undefined) === (rawHash === undefined)) throw badRequest('give exactly one of "index" and "leafHash"');
    if (index === undefined) {
      let hash: Uint8Array;
      try {
        hash = fromBase64(String(rawHash));
      } catch {
        throw badRequest('"leafHash" must be standard base64');
      }
      if (hash.length !== 32) throw badRequest('"leafHash" must be 32 bytes');
      index = await log.leafIndexOf(hash);
      if (index === undefined || index >= size) throw new LogError('LOG_NOT_FOUND', `no leaf with this hash in the tree of size ${size}`);
    }
    const proof: InclusionProof = { leafIndex: index, treeSize: size, hashes: (await log.inclusionProof(index, size)).map(toBase64) };
    json(res, proof);
  });

  router.get('/proof/consistency', async (req, res) => {
    const from = intParam(req, 'from', true);
    const to = intParam(req, 'to', false) ?? (await log.latestCheckpoint()).size;
    const proof: ConsistencyProof = { size1: from, size2: to, hashes: (await log.consistencyProof(from, to)).map(toBase64) };
    json(res, proof);
  });

  router.get('/key', (_req, res) => {
    const key: LogKeyResponse = { origin: log.origin, verifierKey: log.verifierKey(), jwk: log.publicJwk() };
    json(res, key);
  });

  const onLogError: ErrorRequestHandler = (error, _req, res, next) => {
    if (!(error instanceof LogError)) return next(error);
    // An integrity failure is for the operator (fsck), not for the caller: say only that.
    sendProblem(res, error.kind === 'operational' ? new LogError(error.code, 'the transparency log failed an integrity check') : error);
  };
  router.use(onLogError);
  return router;
}
