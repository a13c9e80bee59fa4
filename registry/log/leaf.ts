import { canonicalBytes } from '@etdi/protocol';
import { LogEventSchema, type LogEvent } from '@etdi/schemas';

/**
 * The leaf data of a registry event: JCS(event) bytes, after checking the event against its
 * schema (a malformed event must fail the caller's transaction, not enter the log forever).
 */
export function toLeafData(event: LogEvent): Uint8Array {
  return canonicalBytes(LogEventSchema.parse(event));
}
