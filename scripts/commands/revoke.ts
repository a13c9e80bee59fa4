import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { answerError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { splitToolRef } from '../cli-support/refs.js';
import { bearerFor, postJson } from '../cli-support/registry-http.js';

const help = `etdi revoke <toolId@version> --registry <url> --reason <text>
            [--key <file> | --token-file <file> | --admin-token-file <file>] [--json]

Revokes one published version (POST .../versions/<version>/revoke, a transparency-log event):
the registry stops issuing attestations for it, its status turns "revoked" with the reason, and
every verifier refuses it (REVOKED) at its next check; \`etdi audit\` reports it in every host that
pinned it. A revocation cannot be undone; publish a fixed, higher version instead.

  --reason <text>            required: why (shown to every host that pinned it)
  --key <file>               an active key of the tool's namespace (a publisher token is obtained)
  --token-file <file>        a publisher token (etdi token); or ETDI_TOKEN
  --admin-token-file <file>  the administrator token; or ETDI_ADMIN_TOKEN
  --json                     {"ok":true,"toolId","version","status":{...VersionStatus}}

Example:
  etdi revoke com.acme/read_file@1.0.0 --registry http://127.0.0.1:8080 \\
    --reason "path traversal, fixed in 1.0.1" --key acme.jwk

Exit codes: 0 revoked, 1 refused by the registry (already revoked, not your namespace, expired
token), 2 usage, unknown version, key file, registry unreachable, busy (429) or failing (5xx).`;

export const revokeCommand: Command = {
  name: 'revoke',
  summary: 'revoke a published tool version, with a reason (incident response)',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('revoke', argv, {
      registry: { type: 'string' },
      reason: { type: 'string' },
      key: { type: 'string' },
      'token-file': { type: 'string' },
      'admin-token-file': { type: 'string' },
    });
    const out = new Output(io, values.json === true);
    const registry = required('revoke', values, 'registry').replace(/\/+$/, '');
    if (positionals.length !== 1) throw usage('revoke', 'give exactly one <toolId@version>');
    const { toolId, version } = splitToolRef('revoke', positionals[0]);
    // never "latest": a revocation names exactly the version it is about
    if (version === undefined || version === 'latest') throw usage('revoke', `give the version to revoke: ${toolId}@<version>`);
    const reason = required('revoke', values, 'reason');
    const namespace = toolId.slice(0, toolId.indexOf('/'));
    const { token } = await bearerFor(
      { registry, namespace, adminTokenFile: optional(values, 'admin-token-file'), tokenFile: optional(values, 'token-file'), keyPath: optional(values, 'key'), env: io.env },
      'revoke',
    );
    const name = toolId.slice(toolId.indexOf('/') + 1);
    const url = `${registry}/v1/tools/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/revoke`;
    const answer = await postJson(url, JSON.stringify({ reason }), token);
    if (answer.status !== 200) throw answerError(`the revocation of ${toolId}@${version}`, answer);
    out.result({ ok: true, toolId, version, status: answer.body });
    out.line(`revoked ${toolId}@${version}: ${reason}`);
    out.line('hosts that pinned it see REVOKED at their next verify, proxy call or etdi audit');
    return EXIT.OK;
  },
};
