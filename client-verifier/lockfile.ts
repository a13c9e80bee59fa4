import { LOCKFILE_TYPE, LockfileSchema, type Lockfile, type LockfilePin } from '@etdi/schemas';
import { ProtocolError, parseStrictJson, toSchemaIssues } from '@etdi/protocol';
import { VerificationError } from './errors.js';

/** Largest lockfile accepted: thousands of pins, far beyond a real host's. */
export const MAX_LOCKFILE_BYTES = 4 * 1024 * 1024;

/** A lockfile with no pins: only for a host that has never approved anything (no file yet). */
export function emptyLockfile(): Lockfile {
  return { type: LOCKFILE_TYPE, tools: {} };
}

/**
 * Parses and checks a lockfile. Anything wrong (bad JSON, duplicate keys, unknown members,
 * approved permissions that are not declared) is LOCKFILE_CORRUPT: a broken lockfile must
 * never read as an empty trust store, which would silently re-open every approval.
 */
export function decodeLockfile(text: string | Uint8Array): Lockfile {
  let value: unknown;
  try {
    value = parseStrictJson(text, { maxBytes: MAX_LOCKFILE_BYTES });
  } catch (cause) {
    const detail = cause instanceof ProtocolError ? `${cause.code}: ${cause.message}` : String(cause);
    throw new VerificationError('LOCKFILE_CORRUPT', `the lockfile is not valid JSON (${detail}); restore it from version control`, {}, { cause });
  }
  const parsed = LockfileSchema.safeParse(value);
  if (!parsed.success) {
    const issues = toSchemaIssues(parsed.error);
    throw new VerificationError(
      'LOCKFILE_CORRUPT',
      `the lockfile does not match ${LOCKFILE_TYPE}: ${issues[0]?.path || '(root)'}: ${issues[0]?.message ?? 'invalid'}; restore it from version control`,
      { issues },
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** Deep copy with object keys sorted, so the file diffs cleanly whatever order pins were made in. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** The lockfile as text: checked against the schema, keys sorted, two-space indent, final newline. */
export function serializeLockfile(lockfile: Lockfile): string {
  const parsed = LockfileSchema.safeParse(lockfile);
  if (!parsed.success)
    throw new TypeError(`serializeLockfile: lockfile is invalid: ${toSchemaIssues(parsed.error)[0]?.message ?? ''}`);
  const sorted = sortKeys({
    ...lockfile,
    tools: Object.fromEntries(Object.entries(lockfile.tools).map(([id, pin]) => [id, { ...pin, approvedPermissions: [...pin.approvedPermissions].sort(), permissions: [...pin.permissions].sort() }])),
  });
  return JSON.stringify(sorted, null, 2) + '\n';
}

/** The pins whose tool name (the part after the namespace) is `toolName`. */
export function pinsByToolName(lockfile: Lockfile, toolName: string): LockfilePin[] {
  return Object.values(lockfile.tools).filter((p) => p.toolId.slice(p.toolId.indexOf('/') + 1) === toolName);
}
