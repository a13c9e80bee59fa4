import type { Request } from 'express';
import { parseStrictJson } from '@etdi/protocol';
import { RegistryError, toRegistryError } from '../errors.js';

/**
 * Reads a request body as raw bytes, refusing (413) before reading when Content-Length is too
 * big and while reading when a chunked body grows past the limit: no parser ever sees it.
 * Only `application/json` is accepted (415 otherwise). express.json is never used: duplicate
 * keys and lone surrogates must reach the strict parser, not be silently resolved.
 */
export async function readRawBody(req: Request, maxBytes: number): Promise<Buffer> {
  const type = req.headers['content-type'];
  if (type === undefined || !/^application\/json\s*(;|$)/i.test(type))
    throw new RegistryError('UNSUPPORTED_MEDIA_TYPE', 'the request body must be application/json');
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    req.resume(); // drain without buffering; the 413 goes out at once
    throw new RegistryError('PAYLOAD_TOO_LARGE', `the body is ${declared} bytes, the limit is ${maxBytes}`, {
      evidence: { limit: maxBytes },
    });
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (error: RegistryError): void => {
      if (done) return;
      done = true;
      req.removeAllListeners('data');
      req.resume();
      reject(error);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes)
        return fail(new RegistryError('PAYLOAD_TOO_LARGE', `the body is larger than ${maxBytes} bytes`, { evidence: { limit: maxBytes } }));
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (cause) => fail(new RegistryError('BAD_REQUEST', 'the request body could not be read', { cause })));
  });
}

/** Raw body, then the strict I-JSON parser (duplicate keys, lone surrogates, >2^53 refused). */
export async function readJsonBody(req: Request, maxBytes: number): Promise<unknown> {
  const raw = await readRawBody(req, maxBytes);
  try {
    return parseStrictJson(raw, { maxBytes });
  } catch (error) {
    throw toRegistryError(error) ?? error;
  }
}
