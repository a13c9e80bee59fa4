import { createInterface } from 'node:readline/promises';
import type { ToolChanges, VerifiedTool } from '@etdi/client';
import { list, optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { splitToolRef } from '../cli-support/refs.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { DECLARATIONS_OPTIONS, DECLARATIONS_OPTIONS_HELP, declarationsOf } from '../cli-support/declarations.js';

const help = `etdi approve <toolId>[@version] --registry <url> --lockfile <file>
             [--permissions a,b] [--yes] [--cosmetic] [--trust <file>] [--json]
etdi approve --all --registry <url> --lockfile <file> [--provider <ns>] [--yes] [--cosmetic]
             [--trust <file>] [--json] (-- <mcp server command...> | --report <verify.json>)
etdi approve --all --lockfile <file> <SEP-3140 flags> [--cosmetic] -- <mcp server command...>

Pins a tool version into the lockfile after verifying it completely against the registry
(signature, key, revocation, log inclusion, attestation, and the pin rows: a look-alike of a
pinned tool, a provider change or a rollback is refused). When an older version is pinned, shows
what changed since it (permissions, annotations, input schema, description) before approving.
Without @version the registry's latest version is approved. On a terminal the approval is
confirmed interactively unless --yes; otherwise running the command is the approval.

  --all               every tool that needs approval: of the server command after --, or of a
                      report written by etdi verify --json (--report). Shows the whole table of
                      what will be pinned and what changed since the pinned versions, then asks
                      once. Rejected tools are listed and never pinned.
  --report <file>     with --all: an etdi verify --json report (each tool verified again now)
  --provider <ns>     with --all and a server: the namespace its tools must come from
  --permissions a,b   approve only this subset of the declared permissions (not with --all)
  --yes               do not ask
  --cosmetic          approve only new versions whose only changes since the approved version
                      are cosmetic (title, icons), without asking; any other approval is
                      refused (exit 1) and left to a person. Off by default
  --trust <file>      pinned registry keys (default <lockfile>.trust.json, written on first use)
${DECLARATIONS_OPTIONS_HELP}
  --json              {"ok":true,"toolId","version","previousVersion"?,"changes"?,"escalation":bool,"pin":{...}}
                      --all: {"ok","approved":[{"name","toolId","version","previousVersion"?,
                      "escalation","changes"?,"pin"}],"alreadyApproved":[names],"skipped":[{"name",
                      "toolId"?,"version"?,"code","message"}],"declined":bool}

Examples:
  etdi approve com.acme/read_file@1.1.0 --registry http://127.0.0.1:8080 \\
    --lockfile etdi.lock.json --permissions files:read
  etdi approve --all --registry http://127.0.0.1:8080 --lockfile etdi.lock.json -- npx my-mcp-server

Exit codes: 0 approved (or already approved; --all: every tool is now approved), 1 refused
(rejected tool, declined, not cosmetic with --cosmetic; --all: any tool rejected), 2 usage,
registry unreachable or corrupt lockfile, server failed to start.`;

async function confirm(io: CliIo, question: string): Promise<boolean> {
  const rl = createInterface({ input: io.stdin, output: io.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export const approveCommand: Command = {
  name: 'approve',
  summary: 'verify a tool version and pin it in the lockfile (shows what changed first)',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals, command } = parse('approve', argv, {
      registry: { type: 'string' },
      lockfile: { type: 'string' },
      permissions: { type: 'string' },
      yes: { type: 'boolean' },
      trust: { type: 'string' },
      all: { type: 'boolean' },
      report: { type: 'string' },
      provider: { type: 'string' },
      cosmetic: { type: 'boolean' },
      ...DECLARATIONS_OPTIONS,
    });
    const out = new Output(io, values.json === true);
    const cosmetic = values.cosmetic === true;
    const declarations = await declarationsOf('approve', values, command.length > 0 ? { kind: 'command', command } : undefined);
    if (declarations !== undefined && values.all !== true) throw usage('approve', 'SEP-3140 tools are approved from their server: --all -- <server command>');
    const registry = declarations !== undefined && values.registry === undefined ? undefined : required('approve', values, 'registry');
    const lockfilePath = required('approve', values, 'lockfile');
    if (values.all === true) {
      const report = optional(values, 'report');
      if (positionals.length > 0) throw usage('approve', `--all takes no tool id (got ${positionals[0]})`);
      if ((report === undefined) === (command.length === 0)) throw usage('approve', '--all needs exactly one of -- <server command> or --report <verify.json>');
      if (values.permissions !== undefined) throw usage('approve', '--permissions approves a subset of one tool; it does not go with --all');
      const trust = optional(values, 'trust');
      const provider = optional(values, 'provider');
      const { openVerifier, openDeclarationsVerifier } = await import('../cli-support/trust.js');
      const { approveAll } = await import('./approve-all.js');
      // --cosmetic: the verifier takes a cosmetic-only version as an upgrade; approve-all pins only those
      const choices = { ...(declarations ? { declarations: declarations.options } : {}), ...(cosmetic ? { cosmeticUpdates: 'allow' as const } : {}) };
      const opened =
        registry === undefined
          ? await openDeclarationsVerifier({ lockfilePath, declarations: declarations!.options, ...choices })
          : await openVerifier({ registry, lockfilePath, ...(trust ? { trustPath: trust } : {}), save: true, out, ...choices });
      return approveAll({
        opened,
        out,
        io,
        lockfilePath,
        command,
        ...(report ? { report } : {}),
        ...(provider ? { provider } : {}),
        ...(declarations ? { serverUri: declarations.serverUri } : {}),
        cosmetic,
        yes: values.yes === true,
        confirm: (q) => confirm(io, q),
      });
    }
    if (registry === undefined) throw usage('approve', '--registry is required');
    if (values.report !== undefined || values.provider !== undefined || command.length > 0) throw usage('approve', '--report, --provider and a server command go with --all');
    if (positionals.length !== 1) throw usage('approve', 'give exactly one tool id, or --all');
    const { toolId, version } = splitToolRef('approve', positionals[0]);
    const trustPath = optional(values, 'trust');
    const { openVerifier } = await import('../cli-support/trust.js');
    const { describeChanges } = await import('../cli-support/tools.js');
    const { isVerificationError, toListedTool } = await import('@etdi/client');
    // each registry version verified as a server lists it, in the tool id's namespace (a SEP-3140 declaration names none itself)
    const inNamespace = { provider: toolId.slice(0, toolId.indexOf('/')) };
    const opened = await openVerifier({ registry, lockfilePath, ...(trustPath ? { trustPath } : {}), save: true, out, ...(cosmetic ? { cosmeticUpdates: 'allow' as const } : {}) });
    const { verifier } = opened;

    const bundle = await opened.registry.getBundle(toolId, version ?? 'latest');
    const pin = verifier.lockfile.tools[toolId];
    let before: string | undefined;
    if (pin !== undefined && pin.version !== bundle.record.version) {
      // Verify the approved version too, so the diff is field by field (not only permissions).
      try {
        const pinned = await opened.registry.getBundle(toolId, pin.version);
        const tool = await verifier.verify(toListedTool(pinned.record), inNamespace);
        before = tool.manifest.definition.description;
      } catch (error) {
        if (!isVerificationError(error)) throw error;
        out.note(`note: the approved version ${pin.version} no longer verifies (${error.code}); comparing with the lockfile's record only`);
      }
    }
    const tool: VerifiedTool = await verifier.verify(toListedTool(bundle.record), inNamespace);
    const decision = tool.decision;
    if (decision.status === 'approved' && decision.upgrade === undefined) {
      out.result({ ok: true, toolId, version: tool.version, escalation: false, alreadyApproved: true, pin: decision.pin });
      out.line(`${toolId}@${tool.version} is already approved`);
      if (!opened.lockfileExists) await opened.save();
      return EXIT.OK;
    }
    const changes: ToolChanges | undefined = decision.status === 'needs-approval' ? decision.changes : decision.upgrade?.changes;
    if (cosmetic && changes?.cosmeticOnly !== true) {
      out.result({ ok: false, toolId, version: tool.version, code: 'REFUSED', message: 'not a cosmetic-only change', ...(changes ? { changes } : {}) });
      out.line(`${toolId}@${tool.version} is not a cosmetic-only change of an approved version; review it and approve it without --cosmetic`);
      return EXIT.FINDINGS;
    }
    const permissions = list(values.permissions);
    if (permissions !== undefined)
      for (const p of permissions)
        if (!tool.permissions.includes(p)) throw usage('approve', `--permissions: "${p}" is not declared by ${toolId}@${tool.version} (declared: ${tool.permissions.join(', ') || 'none'})`);

    if (!out.json) {
      out.line(`${out.paint('bold', `${toolId}@${tool.version}`)} from ${tool.provider}, signed by ${tool.signerKeyId}`);
      out.line(`  declared permissions: ${tool.permissions.join(', ') || '(none)'}${permissions ? `; approving: ${permissions.join(', ') || '(none)'}` : ''}`);
      if (pin !== undefined && changes !== undefined) {
        out.line(`  changes since the approved ${pin.version}${changes.escalation ? out.paint('red', ' (ESCALATION: it asks for more)') : ''}:`);
        for (const l of describeChanges(changes, { ...(before !== undefined ? { before } : {}), ...(tool.manifest.definition.description !== undefined ? { after: tool.manifest.definition.description } : {}) })) out.line(`    ${l}`);
      }
    }
    // --cosmetic: the change is cosmetic only (checked above), which the option approves without asking
    if (io.stdin.isTTY === true && values.yes !== true && !cosmetic && !out.json) {
      if (!(await confirm(io, `approve ${toolId}@${tool.version}? [y/N] `))) {
        out.line('not approved');
        return EXIT.FINDINGS;
      }
    }
    let newPin;
    try {
      newPin = await verifier.approve(tool, permissions ? { permissions } : {});
    } catch (cause) {
      if (cause instanceof RangeError) throw new CliError('USAGE', cause.message, {}, { cause });
      throw cause;
    }
    await opened.save();
    out.result({ ok: true, toolId, version: tool.version, ...(pin ? { previousVersion: pin.version } : {}), ...(changes ? { changes } : {}), escalation: changes?.escalation ?? false, pin: newPin });
    out.line(`approved ${toolId}@${tool.version} (${newPin.approvedPermissions.join(', ') || 'no permissions'}) in ${lockfilePath}`);
    return EXIT.OK;
  },
};
