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
      // built by hand: this runs on every request, including the hot record GET
      const path = JSON.stringify(q === -1 ? url : url.slice(0, q));
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const code = res.locals.code === undefined ? '' : `,"code":${JSON.stringify(res.locals.code)}`;
      write(
        `{"t":"${new Date().toISOString()}","method":${JSON.stringify(req.method)},"path":${path},"status":${res.statusCode},"ms":${ms.toFixed(3)},"ip":${JSON.stringify(req.socket.remoteAddress ?? '')}${code}}`,
      );
    });
    next();
  };
}

/**
 * A line writer that hands `write` the lines of one event-loop turn together, once, right after
 * the turn: one system call (or one stream write) per turn instead of one per request. A busy
 * registry finishes several requests per turn. A line waits at most until the turn ends; a
 * process that crashes can lose the lines of its last turn (request lines, not the audit trail,
 * which is the transparency log in the database).
 */
export function batchedLines(write: (chunk: string) => void): (line: string) => void {
  let pending = '';
  const flush = (): void => {
    const chunk = pending;
    pending = '';
    write(chunk);
  };
  return (line) => {
    if (pending === '') setImmediate(flush);
    pending += line + '\n';
  };
}
