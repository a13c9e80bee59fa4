import { EtdiError } from '@etdi/protocol';

/** Stable codes of the transparency log (their HTTP status is in @etdi/protocol's ERROR_CODES). */
export type LogErrorCode =
  /** A parameter is missing, malformed or out of range (a size beyond the tree, start > end...). */
  | 'LOG_BAD_REQUEST'
  /** The thing asked for does not exist (no leaf with that hash). */
  | 'LOG_NOT_FOUND'
  /** The stored tree contradicts itself or a signed checkpoint: refuse to sign or serve. */
  | 'LOG_CORRUPT'
  /** The database belongs to another log (different origin). */
  | 'LOG_CONFIG';

export class LogError extends EtdiError {
  override readonly name = 'LogError';
  declare readonly code: LogErrorCode;

  constructor(code: LogErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
