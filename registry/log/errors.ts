/** Stable codes of the transparency log, each with the HTTP status the registry answers with. */
export type LogErrorCode =
  /** A parameter is missing, malformed or out of range (a size beyond the tree, start > end...). */
  | 'LOG_BAD_REQUEST'
  /** The thing asked for does not exist (no leaf with that hash). */
  | 'LOG_NOT_FOUND'
  /** The stored tree contradicts itself or a signed checkpoint: refuse to sign or serve. */
  | 'LOG_CORRUPT'
  /** The database belongs to another log (different origin). */
  | 'LOG_CONFIG';

const STATUS: Record<LogErrorCode, number> = {
  LOG_BAD_REQUEST: 400,
  LOG_NOT_FOUND: 404,
  LOG_CORRUPT: 500,
  LOG_CONFIG: 500,
};

export class LogError extends Error {
  override readonly name = 'LogError';
  readonly code: LogErrorCode;
  /** The HTTP status a problem document for this error carries. */
  readonly status: number;

  constructor(code: LogErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = STATUS[code];
  }
}
