import type { CheckedTool, ToolChanges } from '@etdi/client';
import type { LockfilePin } from '@etdi/schemas';
import { CliError, EXIT, type ExitCode } from '../cli-support/errors.js';
import { readJsonFile } from '../cli-support/files.js';
import type { Output, CliIo } from '../cli-support/output.js';
import type { OpenedLockfileVerifier } from '../cli-support/trust.js';

/** One tool of the plan: pinned on confirmation, or skipped with the reason. */
interface Candidate {
  name: string;
  tool: CheckedTool;
  previousVersion?: string;
  changes?: ToolChanges;
}

interface Skipped {
  name: string;
  toolId?: string;
  version?: string;
  code: string;
  message: string;
}

export interface ApproveAllInput {
  opened: OpenedLockfileVerifier;
  out: Output;
  io: CliIo;
  lockfilePath: string;
  /** The server command after `--`, or undefined with `report`. */
  command: readonly string[];
  /** A `verify --json` report file. */
  report?: string;
  provider?: string;
  /** The server's canonical URI (SEP-3140 servers). */
  serverUri?: string;
  /** Pin only cosmetic-only new versions, without asking; refuse the rest. */
  cosmetic: boolean;
  yes: boolean;
  confirm(question: string): Promise<boolean>;
}

const fromDecision = (name: string, tool: CheckedTool): Candidate | 'approved' => {
  const d = tool.decision;
  if (d.status === 'approved') return d.upgrade === undefined ? 'approved' : { name, tool, previousVersion: d.upgrade.from, changes: d.upgrade.changes };
  return { name, tool, ...(d.pin ? { previousVersion: d.pin.version } : {}), ...(d.changes ? { changes: d.changes } : {}) };
};

function skippedOf(name: string, error: unknown): Skipped {
  const e = error as { code?: unknown; message?: unknown; evidence?: { toolId?: unknown; version?: unknown } };
  return {
    name,
    ...(typeof e.evidence?.toolId === 'string' ? { toolId: e.evidence.toolId } : {}),
    ...(typeof e.evidence?.version === 'string' ? { version: e.evidence.version } : {}),
    code: typeof e.code === 'string' ? e.code : 'INTERNAL',
    message: typeof e.message === 'string' ? e.message : String(error),
  };
}

/** Every tool the server lists, verified through the same VerifiedClient as `etdi verify --`. */
async function fromServer(input: ApproveAllInput, candidates: Candidate[], skipped: Skipped[], approved: string[]): Promise<void> {
  const { connectServer } = await import('../cli-support/tools.js');
  const { VerifiedClient, isVerificationError } = await import('@etdi/client');
  const server = await connectServer(input.command, 'etdi-approve', input.io.env);
  try {
    const client = new VerifiedClient(server.client, {
      verifier: input.opened.verifier,
      serverId: input.command.join(' '),
      ...(input.provider ? { provider: input.provider } : {}),
      ...(input.serverUri ? { serverUri: input.serverUri } : {}),
    });
    const list = await client.listTools();
    const names = [...list.tools.map((t) => t.name as string), ...list.withheld.map((w) => w.name)];
    for (const name of [...new Set(names)].sort()) {
      try {
        const c = fromDecision(name, await client.inspect(name));
        if (c === 'approved') approved.push(name);
        else candidates.push(c);
      } catch (error) {
        if (!isVerificationError(error)) throw error;
        skipped.push(skippedOf(name, error));
      }
    }
  } finally {
    await server.close();
  }
}

interface ReportTool {
  name?: unknown;
  status?: unknown;
  code?: unknown;
  message?: unknown;
  toolId?: unknown;
  version?: unknown;
}

/**
 * Every tool a `verify --json` report says needs approval, each verified again now from the
 * registry (the report is only a list of names: it is not trusted for anything).
 */
async function fromReport(input: ApproveAllInput, path: string, candidates: Candidate[], skipped: Skipped[], approved: string[]): Promise<void> {
  const value = (await readJsonFile(path, 'the verify report')) as { tools?: unknown };
  if (!Array.isArray(value?.tools)) throw new CliError('USAGE', `${path} is not an etdi verify --json report (no "tools" array)`, { path });
  const { isVerificationError, toListedTool } = await import('@etdi/client');
  const registry = input.opened.registry;
  if (registry === undefined) throw new CliError('USAGE', '--report needs --registry: the report\'s tools are verified again from the registry');
  for (const t of value.tools as ReportTool[]) {
    const name = typeof t.name === 'string' ? t.name : '?';
    if (t.status === 'approved') {
      approved.push(name);
      continue;
    }
    if (t.status !== 'needs-approval' || typeof t.toolId !== 'string' || typeof t.version !== 'string') {
      skipped.push({ name, ...(typeof t.toolId === 'string' ? { toolId: t.toolId } : {}), code: typeof t.code === 'string' ? t.code : 'REJECTED', message: typeof t.message === 'string' ? t.message : 'rejected by verify' });
      continue;
    }
    try {
      const bundle = await registry.getBundle(t.toolId, t.version);
      // the version as a server lists it, in its namespace (a SEP-3140 declaration names none itself)
      const c = fromDecision(name, await input.opened.verifier.verify(toListedTool(bundle.record), { provider: t.toolId.slice(0, t.toolId.indexOf('/')) }));
      if (c === 'approved') approved.push(name);
      else candidates.push(c);
    } catch (error) {
      if (!isVerificationError(error)) throw error;
      if (error.code === 'REGISTRY_UNAVAILABLE') throw error; // operational: nothing decided
      skipped.push(skippedOf(name, error));
    }
  }
}

function changeSummary(c: Candidate, out: Output): string {
  if (c.previousVersion === undefined) return 'new';
  const ch = c.changes;
  if (ch === undefined) return `from ${c.previousVersion}`;
  const parts = [
    ...ch.permissionsAdded.map((p) => `+${p}`),
    ...ch.permissionsRemoved.map((p) => `-${p}`),
    ...ch.riskierAnnotations.map((h) => `!${h.hint}`),
  ];
  const text = `from ${c.previousVersion}${parts.length ? ` (${parts.join(' ')})` : ''}`;
  return ch.escalation ? out.paint('red', `ESCALATION ${text}`) : text;
}

/** `etdi approve --all`: one plan, one confirmation, one lockfile write. */
export async function approveAll(input: ApproveAllInput): Promise<ExitCode> {
  const { out, opened } = input;
  const candidates: Candidate[] = [];
  const skipped: Skipped[] = [];
  const approved: string[] = [];
  if (input.report !== undefined) await fromReport(input, input.report, candidates, skipped, approved);
  else await fromServer(input, candidates, skipped, approved);
  if (input.cosmetic) {
    // --cosmetic approves what a person need not see; everything else is left to one
    for (const c of candidates.splice(0)) {
      if (c.changes?.cosmeticOnly === true) candidates.push(c);
      else skipped.push({ name: c.name, toolId: c.tool.toolId, version: c.tool.version, code: 'REFUSED', message: 'not a cosmetic-only change of an approved version: review it and approve it without --cosmetic' });
    }
  }

  if (!out.json) {
    if (candidates.length > 0) {
      out.line(out.paint('bold', `to pin in ${input.lockfilePath}:`));
      out.table(
        ['TOOL', 'TOOL ID', 'VERSION', 'CHANGE', 'PERMISSIONS'],
        candidates.map((c) => [c.name, c.tool.toolId, c.tool.version, changeSummary(c, out), c.tool.permissions.join(', ') || '(none)']),
      );
      const { describeChanges } = await import('../cli-support/tools.js');
      for (const c of candidates.filter((x) => x.previousVersion !== undefined && x.changes !== undefined)) {
        out.line();
        out.line(`${c.tool.toolId}: changes since the approved ${c.previousVersion}:`);
        for (const l of describeChanges(c.changes!)) out.line(`  ${l}`);
      }
    } else out.line('nothing to approve');
    if (skipped.length > 0) {
      out.line();
      out.line(out.paint('bold', 'not approvable (rejected: fix the cause, they are never pinned):'));
      out.table(['TOOL', 'CODE', 'WHY'], skipped.map((s) => [s.name, out.paint('red', s.code), s.message]));
    }
    if (approved.length > 0) out.line(`already approved: ${approved.join(', ')}`);
  }

  let pinned: { candidate: Candidate; pin: LockfilePin }[] = [];
  let declined = false;
  if (candidates.length > 0) {
    if (input.io.stdin.isTTY === true && !input.yes && !input.cosmetic && !out.json) declined = !(await input.confirm(`pin these ${candidates.length} tool version(s)? [y/N] `));
    if (!declined) {
      pinned = [];
      for (const candidate of candidates) pinned.push({ candidate, pin: await opened.verifier.approve(candidate.tool) });
      await opened.save();
    }
  } else if (!opened.lockfileExists && skipped.length === 0) await opened.save();

  const ok = !declined && skipped.length === 0;
  out.result({
    ok,
    approved: pinned.map(({ candidate: c, pin }) => ({
      name: c.name,
      toolId: c.tool.toolId,
      version: c.tool.version,
      ...(c.previousVersion ? { previousVersion: c.previousVersion } : {}),
      escalation: c.changes?.escalation ?? false,
      ...(c.changes ? { changes: c.changes } : {}),
      pin,
    })),
    alreadyApproved: approved,
    skipped,
    declined,
  });
  if (declined) out.line('not approved');
  else if (pinned.length > 0) out.line(`approved ${pinned.length} tool version(s) in ${input.lockfilePath}`);
  return ok ? EXIT.OK : EXIT.FINDINGS;
}
