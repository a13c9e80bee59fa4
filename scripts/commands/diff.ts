import type { VerifiedTool } from '@etdi/client';
import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { splitToolRef } from '../cli-support/refs.js';

const help = `etdi diff <toolId> <v1> <v2> --registry <url> [--lockfile <file> | --trust <file>] [--json]

What changed between two versions of a tool, the way a reviewer reads it: permissions added
and removed, annotation hints that became riskier or safer, input parameters added, removed or
newly required, schema, title and description changes (old and new text), other fields, policy.
Both versions are verified first (signature, key, log, attestation); the change classification
is the client verifier's (the same one that decides PERMISSION_ESCALATION).

  --lockfile <file>   only to find its pinned registry keys (<lockfile>.trust.json)
  --trust <file>      pinned registry keys; without either, the registry's own keys are used
  --json              {"ok":true,"toolId","from","to","escalation":bool,"changes":{...ToolChanges},
                       "description"?:{"from","to"}}

Example:
  etdi diff com.acme/read_file 1.0.0 1.1.0 --registry http://127.0.0.1:8080

Exit codes: 0 no escalation, 1 the second version asks for more (permissions or riskier hints),
2 usage, unknown version, a version that does not verify, or registry unreachable.`;

export const diffCommand: Command = {
  name: 'diff',
  summary: 'what changed between two versions of a tool (permissions, annotations, schema, description)',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('diff', argv, { registry: { type: 'string' }, lockfile: { type: 'string' }, trust: { type: 'string' } });
    const out = new Output(io, values.json === true);
    const registry = required('diff', values, 'registry');
    if (positionals.length !== 3) throw usage('diff', 'give <toolId> <v1> <v2>');
    const { toolId } = splitToolRef('diff', positionals[0]);
    const [from, to] = [positionals[1]!, positionals[2]!];
    const { defaultTrustPath, openVerifier } = await import('../cli-support/trust.js');
    const { describeChanges } = await import('../cli-support/tools.js');
    const { classifyChanges, hintsOf, toListedTool } = await import('@etdi/client');
    const lockfile = optional(values, 'lockfile');
    const trustPath = optional(values, 'trust') ?? (lockfile ? defaultTrustPath(lockfile) : undefined);
    // No lockfile: the diff is about two registry versions, not about what this host approved.
    const opened = await openVerifier({ registry, ...(trustPath ? { trustPath } : {}), save: false, out });
    const verified: VerifiedTool[] = [];
    const { isVerificationError } = await import('@etdi/client');
    for (const version of [from, to]) {
      let bundle;
      try {
        bundle = await opened.registry.getBundle(toolId, version);
      } catch (error) {
        // a version the registry does not have is a wrong argument (exit 2), not a finding
        if (isVerificationError(error) && error.code === 'UNKNOWN_TOOL')
          throw new CliError('USAGE', `${toolId}@${version} is not in the registry (etdi diff takes two published versions)`, { toolId, version }, { cause: error });
        throw error;
      }
      // as a server lists it, in the tool id's namespace (a SEP-3140 declaration names none itself)
      verified.push(await opened.verifier.verify(toListedTool(bundle.record), { provider: toolId.slice(0, toolId.indexOf('/')) }));
    }
    const [a, b] = verified as [VerifiedTool, VerifiedTool];
    const changes = classifyChanges(
      { permissions: a.manifest.permissions, hints: hintsOf(a.manifest.definition), definition: a.manifest.definition as Record<string, unknown>, policy: a.manifest.policy },
      b.manifest,
    );
    const description = changes.descriptionChanged ? { from: a.manifest.definition.description ?? '', to: b.manifest.definition.description ?? '' } : undefined;
    out.result({ ok: true, toolId, from: a.version, to: b.version, escalation: changes.escalation, changes, ...(description ? { description } : {}) });
    out.line(`${out.paint('bold', toolId)} ${a.version} -> ${b.version}${changes.escalation ? out.paint('red', '  ESCALATION: asks for more, needs re-approval') : ''}`);
    for (const l of describeChanges(changes, description ? { before: description.from, after: description.to } : undefined)) {
      const colour = l.startsWith('+') ? 'green' : l.startsWith('-') ? 'red' : l.startsWith('!') ? 'yellow' : undefined;
      out.line(`  ${colour ? out.paint(colour, l) : l}`);
    }
    return changes.escalation ? EXIT.FINDINGS : EXIT.OK;
  },
};
