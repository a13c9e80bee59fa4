import {
  EMPTY_ROOT,
  bytesEqual,
  canonicalBytes,
  formatCheckpoint,
  leafHash,
  nodeHash,
  parseStrictJson,
  toBase64,
  verifyConsistency,
  verifyNote,
} from '@etdi/protocol';
import { LogEventSchema, type LogEvent } from '@etdi/schemas';
import type { StoredCheckpoint, TreeReader } from '../store/types.js';
import { consistencyRanges, rangeHashes } from './merkle-plan.js';

export type FsckProblemCode =
  /** Leaf indices are not 0..n-1 without gaps. */
  | 'LEAF_GAP'
  /** A leaf's data is not JCS(event) of a valid log event. */
  | 'ENTRY_INVALID'
  /** The caller's cross-check (onEntry) refused an entry. */
  | 'ENTRY_REJECTED'
  /** A stored subtree hash differs from the one rebuilt from the leaves. */
  | 'NODE_MISMATCH'
  | 'NODE_MISSING'
  /** log_nodes holds more rows than the tree has perfect subtrees. */
  | 'EXTRA_NODES'
  /** A signed checkpoint's root differs from the rebuilt root at its size. */
  | 'CHECKPOINT_ROOT_MISMATCH'
  /** A signed checkpoint is larger than the tree: the database lost leaves (rollback). */
  | 'CHECKPOINT_BEYOND_TREE'
  /** A signed checkpoint's note does not verify, or does not say what its row says. */
  | 'CHECKPOINT_NOTE_INVALID'
  /** Two consecutive signed checkpoints are not consistent (proof from the stored nodes). */
  | 'CHECKPOINT_INCONSISTENT'
  /** The database lacks tables the log (or the registry) keeps its data in: nothing to check there. */
  | 'TABLES_MISSING';

export interface FsckProblem {
  code: FsckProblemCode;
  message: string;
  index?: number;
  level?: number;
  size?: number;
}

export interface FsckEntry {
  index: number;
  data: Uint8Array;
  /** The decoded event, when the data is JCS of a valid log event. */
  event?: LogEvent;
}

export interface FsckOptions {
  /** The expected checkpoint origin. */
  origin?: string;
  /** The log's note verifier key: when given, every stored checkpoint note is verified with it. */
  verifierKey?: string;
  /**
   * The registry's cross-check with its own state tables: called with every entry in order;
   * throw (any error) to report the entry as ENTRY_REJECTED. May be async.
   */
  onEntry?: (entry: FsckEntry) => void | Promise<void>;
  /** Leaves read per query (memory bound). */
  pageSize?: number;
  /** Stop collecting after this many problems (the report says it was truncated). */
  maxProblems?: number;
}

interface ProblemList {
  problems: FsckProblem[];
  truncated: boolean;
}

export interface FsckReport {
  ok: boolean;
  size: number;
  /** Base64 root rebuilt from the leaves. */
  rootHash: string;
  checkpoints: number;
  newestCheckpointSize: number | undefined;
  problems: FsckProblem[];
  truncated: boolean;
}

/** The report of a database that lacks tables: in plain words, what is missing and what that means. */
export function tablesMissingReport(missing: readonly string[], what: string): FsckReport {
  return {
    ok: false,
    size: 0,
    rootHash: toBase64(EMPTY_ROOT),
    checkpoints: 0,
    newestCheckpointSize: undefined,
    problems: [
      {
        code: 'TABLES_MISSING',
        message: `this database has no ${what}: the table${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing. Is this a registry database (data/registry.db), and a complete copy of it (made with etdi backup)?`,
      },
    ],
    truncated: false,
  };
}

/**
 * The offline check of the log: rebuilds the whole tree from the stored leaf data (one pass,
 * O(log n) memory), compares every stored subtree hash and every signed checkpoint with the
 * rebuild, verifies each checkpoint note, and checks each signed checkpoint is consistent with
 * the next through the stored nodes. O(n); meant for a CLI verb, never for a request.
 */
export async function fsckLog(tree: TreeReader, options: FsckOptions = {}): Promise<FsckReport> {
  const pageSize = options.pageSize ?? 10_000;
  const maxProblems = options.maxProblems ?? 1000;
  const state: ProblemList = { problems: [], truncated: false };
  const report = (p: FsckProblem): void => {
    if (state.problems.length < maxProblems) state.problems.push(p);
    else state.truncated = true;
  };

  const checkpoints = await tree.allCheckpoints();
  let nextCheckpoint = 0;
  const stack: { level: number; hash: Uint8Array }[] = [];
  const rootOfStack = (): Uint8Array => {
    if (stack.length === 0) return EMPTY_ROOT;
    let root = stack[stack.length - 1]!.hash;
    for (let i = stack.length - 2; i >= 0; i--) root = nodeHash(stack[i]!.hash, root);
    return root;
  };
  const checkCheckpointsAt = (size: number): void => {
    while (nextCheckpoint < checkpoints.length && checkpoints[nextCheckpoint]!.size === size) {
      const cp = checkpoints[nextCheckpoint++]!;
      if (!bytesEqual(cp.rootHash, rootOfStack()))
        report({ code: 'CHECKPOINT_ROOT_MISMATCH', size, message: `the signed checkpoint of size ${size} has another root than the leaves` });
    }
  };
  const checkNode = (level: number, index: number, hash: Uint8Array, stored: Uint8Array | undefined): void => {
    if (stored === undefined) report({ code: 'NODE_MISSING', level, index, message: `no stored hash for subtree (${level}, ${index})` });
    else if (!bytesEqual(stored, hash))
      report({ code: 'NODE_MISMATCH', level, index, message: `stored hash of subtree (${level}, ${index}) differs from the rebuilt one` });
  };

  let count = 0;
  checkCheckpointsAt(0);
  for (;;) {
    const page = await tree.entries(count, count + pageSize);
    if (page.length === 0) break;
    // the stored nodes this page's leaves complete, read together (one round trip per page)
    const coordinates: [number, number][] = [];
    for (const { index } of page) for (let level = 0, i = index; ; level++, i = Math.floor(i / 2)) {
      coordinates.push([level, i]);
      if (i % 2 === 0) break;
    }
    const storedHashes = await tree.nodes(coordinates);
    const stored = new Map(coordinates.map(([level, i], k) => [`${level}:${i}`, storedHashes[k]]));
    for (const { index, data } of page) {
      if (index !== count) {
        report({ code: 'LEAF_GAP', index: count, message: `leaf ${count} is missing (next stored leaf is ${index})` });
        return finish(tree, options, checkpoints, count, rootOfStack(), state, report);
      }
      const entry: FsckEntry = { index, data };
      const event = decodeEvent(data);
      if (event === undefined) report({ code: 'ENTRY_INVALID', index, message: `leaf ${index} is not JCS of a valid log event` });
      else entry.event = event;
      if (options.onEntry) {
        try {
          await options.onEntry(entry);
        } catch (e) {
          report({ code: 'ENTRY_REJECTED', index, message: e instanceof Error ? e.message : String(e) });
        }
      }
      // Rebuild: each leaf completes the perfect subtrees given by the trailing ones of its index.
      let node = { level: 0, hash: leafHash(data) };
      checkNode(0, index, node.hash, stored.get(`0:${index}`));
      let i = index;
      while (stack.length > 0 && stack[stack.length - 1]!.level === node.level) {
        const left = stack.pop()!;
        node = { level: node.level + 1, hash: nodeHash(left.hash, node.hash) };
        i = Math.floor(i / 2);
        checkNode(node.level, i, node.hash, stored.get(`${node.level}:${i}`));
      }
      stack.push(node);
      count++;
      checkCheckpointsAt(count);
    }
  }
  return finish(tree, options, checkpoints, count, rootOfStack(), state, report);
}

async function finish(
  tree: TreeReader,
  options: FsckOptions,
  checkpoints: StoredCheckpoint[],
  size: number,
  root: Uint8Array,
  state: ProblemList,
  report: (p: FsckProblem) => void,
): Promise<FsckReport> {
  // A perfect binary decomposition of n leaves has 2n - popcount(n) perfect subtrees.
  let popcount = 0;
  for (let v = size; v > 0; v = Math.floor(v / 2)) popcount += v % 2;
  const nodeRows = await tree.nodeCount();
  if (nodeRows > 2 * size - popcount)
    report({ code: 'EXTRA_NODES', message: `log_nodes has ${nodeRows} rows, the tree has ${2 * size - popcount} subtrees` });

  for (const cp of checkpoints) {
    if (cp.size > size)
      report({ code: 'CHECKPOINT_BEYOND_TREE', size: cp.size, message: `a checkpoint of size ${cp.size} was signed but the log has ${size} leaves` });
    await checkNote(cp, options, report);
  }
  for (let k = 0; k + 1 < checkpoints.length; k++) {
    const a = checkpoints[k]!;
    const b = checkpoints[k + 1]!;
    if (a.size === 0 || b.size > size) continue;
    try {
      verifyConsistency(a.size, b.size, await rangeHashes(tree, consistencyRanges(a.size, b.size)), a.rootHash, b.rootHash);
    } catch {
      report({ code: 'CHECKPOINT_INCONSISTENT', size: b.size, message: `checkpoint ${b.size} is not consistent with checkpoint ${a.size}` });
    }
  }
  return {
    ok: state.problems.length === 0,
    size,
    rootHash: toBase64(root),
    checkpoints: checkpoints.length,
    newestCheckpointSize: checkpoints.at(-1)?.size,
    problems: state.problems,
    truncated: state.truncated,
  };
}

async function checkNote(cp: StoredCheckpoint, options: FsckOptions, report: (p: FsckProblem) => void): Promise<void> {
  const text = cp.note.slice(0, cp.note.lastIndexOf('\n\n') + 1);
  let expected: string | undefined;
  try {
    const origin = options.origin ?? text.slice(0, text.indexOf('\n'));
    expected = formatCheckpoint({ origin, size: cp.size, rootHash: cp.rootHash });
  } catch {
    expected = undefined;
  }
  if (text !== expected) {
    report({ code: 'CHECKPOINT_NOTE_INVALID', size: cp.size, message: `the note of checkpoint ${cp.size} does not state its size, root and origin` });
    return;
  }
  if (options.verifierKey !== undefined) {
    try {
      await verifyNote(cp.note, [options.verifierKey]);
    } catch (e) {
      report({ code: 'CHECKPOINT_NOTE_INVALID', size: cp.size, message: `the note of checkpoint ${cp.size} does not verify: ${(e as Error).message}` });
    }
  }
}

/** JCS(event) -> event, or undefined when the bytes are not exactly the canonical form of one. */
function decodeEvent(data: Uint8Array): LogEvent | undefined {
  try {
    const value = parseStrictJson(new TextDecoder('utf-8', { fatal: true }).decode(data));
    const parsed = LogEventSchema.safeParse(value);
    if (!parsed.success) return undefined;
    return bytesEqual(canonicalBytes(value), data) ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
