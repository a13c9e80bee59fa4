import { fromBase64, utf8, leafHash, verifyInclusion } from '@etdi/protocol';
import { CheckpointStore, verifyCheckpoint, VerificationError } from '@etdi/client';
import { addCheck, setVerdict } from './dom.js';
import { fingerprint, lastCheckpoint, pinnedLogKey, rememberCheckpoint } from './log-key.js';
import { describeFailure, getJson, getText } from './registry-api.js';

/**
 * The log page's own checks: the latest checkpoint's signature with the pinned key, that the log
 * only grew since the checkpoint this browser verified last, and the inclusion proof shown.
 */
export async function checkLogPage(main: HTMLElement): Promise<void> {
  setVerdict('pending', 'Checking…');
  try {
    const pinned = await pinnedLogKey('checked', () => {
      location.reload();
    });
    if (pinned === undefined) return;
    const { served } = pinned;
    const options = { origin: served.origin };
    const { text: note } = await getText('/v1/log/checkpoint');
    const checkpoint = await verifyCheckpoint(note, pinned.key, options);
    addCheck(`Checkpoint of size ${checkpoint.size}: signed by the log key you pinned (${fingerprint(pinned.key)}).`);
    const seen = lastCheckpoint();
    if (seen !== undefined) {
      const store = await CheckpointStore.fromNote(pinned.key, seen.note, options).catch(() => undefined);
      if (store !== undefined) {
        await store.advance(note, async (from, to) => ((await getJson(`/v1/log/proof/consistency?from=${from}&to=${to}`)) as { hashes: string[] }).hashes.map(fromBase64));
        addCheck(`Consistency: the log of size ${checkpoint.size} extends the one of size ${seen.treeSize} this browser verified before (RFC 9162 consistency proof).`);
      }
    }
    if (seen === undefined || checkpoint.size >= seen.treeSize) rememberCheckpoint({ origin: checkpoint.origin, treeSize: checkpoint.size, note });
    const index = main.dataset.inclusion === undefined ? undefined : Number(main.dataset.inclusion);
    if (index !== undefined && index < checkpoint.size) {
      const entries = (await getJson(`/v1/log/entries?start=${index}&end=${index + 1}`)) as { entries: { index: number; data: string }[] };
      const proof = (await getJson(`/v1/log/proof/inclusion?index=${index}&size=${checkpoint.size}`)) as { hashes: string[] };
      const entry = entries.entries[0];
      if (entry?.index !== index) throw new VerificationError('NOT_LOGGED', `the registry did not return entry ${index}`);
      try {
        verifyInclusion(leafHash(utf8(entry.data)), index, checkpoint.size, proof.hashes.map(fromBase64), checkpoint.rootHash);
      } catch (cause) {
        throw new VerificationError('NOT_LOGGED', `entry ${index} is not proven in the tree of size ${checkpoint.size}`, {}, { cause });
      }
      addCheck(`Inclusion: entry #${index} is in the signed tree of size ${checkpoint.size} (${proof.hashes.length} proof hashes).`);
    }
    setVerdict('verified', 'verified');
  } catch (error) {
    const { code, message } = describeFailure(error);
    setVerdict('failed', `failed: ${code}`, code, message);
  }
}
