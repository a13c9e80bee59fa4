import type { RequestHandler } from 'express';

/**
 * One JSON line per request, written when the response finishes. Only method, path (no query
 * string: it may carry search text), status, duration, size, client address and the problem
 * code; never headers (Authorization) nor bodies (keys, manifests).
 */
export function requestLog(write: (line: string) => void): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const url = req.originalUrl;
      const q = url.indexOf('?');
      const line: Record<string, unknown> = {
        t: new Date().toISOString(),
        method: req.method,
        path: q === -1 ? url : url.slice(0, q),
        status: res.statusCode,
        ms: Number(process.hrtime.bigint() - start) / 1e6,
        ip: req.socket.remoteAddress,
      };
      const length = res.getHeader('content-length');
      if (length !== undefined) line.bytes = Number(length);
      if (res.locals.code !== undefined) line.code = res.locals.code;
      write(JSON.stringify(line));
    });
    next();
  };
}
