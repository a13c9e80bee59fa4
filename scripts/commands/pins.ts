import { existsSync } from 'node:fs';
import { parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';

const help = `etdi pins list --lockfile <file> [--json]
etdi pins remove <toolId> --lockfile <file> [--json]

Lists the approvals of a lockfile (tool id, version, provider, approved permissions, digest), or
removes one (the tool then needs approval again). The lockfile is rewritten atomically.

  --json   list: {"ok":true,"pins":[<lockfile pin>...],"checkpoint"?:{"origin","treeSize"}}
           remove: {"ok":true,"removed":"<toolId>"}

Examples:
  etdi pins list --lockfile etdi.lock.json
  etdi pins remove com.acme/read_file --lockfile etdi.lock.json

Exit codes: 0 listed or removed, 1 no such pin, 2 usage or unreadable/corrupt lockfile.`;

export const pinsCommand: Command = {
  name: 'pins',
  summary: 'list or remove the approvals of a lockfile',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('pins', argv, { lockfile: { type: 'string' } });
    const out = new Output(io, values.json === true);
    const path = required('pins', values, 'lockfile');
    const [action, ...rest] = positionals;
    const { readLockfile, writeLockfile } = await import('@etdi/client/node');
    if (action === 'list') {
      if (rest.length > 0) throw usage('pins', `unexpected argument ${rest[0]}`);
      const lockfile = existsSync(path) ? await readLockfile(path) : undefined;
      const pins = Object.values(lockfile?.tools ?? {}).sort((a, b) => a.toolId.localeCompare(b.toolId));
      out.result({ ok: true, pins, ...(lockfile?.checkpoint ? { checkpoint: { origin: lockfile.checkpoint.origin, treeSize: lockfile.checkpoint.treeSize } } : {}) });
      if (pins.length === 0) out.line(lockfile ? 'no pins' : `no lockfile at ${path}: no pins`);
      else
        out.table(
          ['TOOL', 'VERSION', 'PROVIDER', 'APPROVED PERMISSIONS', 'DEFINITION DIGEST', 'APPROVED AT'],
          pins.map((p) => [p.toolId, p.version, p.provider, p.approvedPermissions.join(',') || '-', p.definitionDigest.slice(0, 19) + '…', p.approvedAt]),
        );
      return EXIT.OK;
    }
    if (action === 'remove') {
      if (rest.length !== 1) throw usage('pins', 'pins remove takes exactly one tool id');
      const toolId = rest[0]!;
      const lockfile = await readLockfile(path);
      if (lockfile.tools[toolId] === undefined) throw new CliError('REFUSED', `${toolId} is not pinned in ${path}`, { toolId });
      const { [toolId]: _removed, ...tools } = lockfile.tools;
      await writeLockfile(path, { ...lockfile, tools });
      out.result({ ok: true, removed: toolId });
      out.line(`removed ${toolId} from ${path}`);
      return EXIT.OK;
    }
    throw usage('pins', action === undefined ? 'give list or remove' : `unknown action "${action}" (list or remove)`);
  },
};
