import type { LogEvent } from '@etdi/schemas';
import { toLeafData } from '../log/leaf.js';
import type { TransparencyLog } from '../log/transparency-log.js';
import type { StoreTx } from '../store/types.js';

/**
 * Appends `event` to the transparency log and the audit trail, in the caller's transaction (the
 * two always together: fsck checks each leaf against its audit row); returns its leaf index.
 * `leaf` is toLeafData(event) when the caller computed it already (a publish does, in its checks,
 * so that its writes start only once nothing can refuse it: publish-job.ts); toLeafData checks
 * the event against its schema, so a malformed event fails the transaction.
 */
export async function appendEvent(tx: StoreTx, log: TransparencyLog, event: LogEvent, subject: string, leaf = toLeafData(event)): Promise<number> {
  const leafIndex = await log.append(tx, leaf);
  await tx.insertAudit({
    leaf_index: leafIndex,
    at: event.at,
    actor: event.actor,
    kind: event.kind,
    subject,
    event: Buffer.from(leaf.buffer, leaf.byteOffset, leaf.byteLength).toString('utf8'), // JCS(event), as in the leaf
  });
  return leafIndex;
}
