import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { answerError, CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { postJson, readAdminToken } from '../cli-support/registry-http.js';

const help = `etdi registry rotate-key --registry <url> [--admin-token-file <file>] [--json]

Administrator operations on a running registry.
  rotate-key   makes a new attestation signing key current (POST /v1/admin/registry-keys/rotate).
               The previous keys stay in /.well-known/jwks.json until every token they signed
               has expired, so no live token is invalidated. Hosts pin the registry's keys in
               their trust file (<lockfile>.trust.json): after a planned rotation they must
               review and replace it, or their verifiers refuse attestations by the new key.

  --admin-token-file <file>  the administrator token (first line); or ETDI_ADMIN_TOKEN
  --json                     {"ok":true,"kid","previous":[...]}

Example:
  etdi registry rotate-key --registry http://127.0.0.1:8080 --admin-token-file data/admin-token

Exit codes: 0 rotated, 1 refused by the registry (not the administrator token, or the registry
has none), 2 usage, no token, registry unreachable, busy (429) or failing (5xx).`;

export const registryCommand: Command = {
  name: 'registry',
  summary: "administrator operations: rotate-key (the registry's attestation key)",
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('registry', argv, { registry: { type: 'string' }, 'admin-token-file': { type: 'string' } });
    const out = new Output(io, values.json === true);
    if (positionals[0] !== 'rotate-key' || positionals.length !== 1) throw usage('registry', 'the only action is "registry rotate-key"');
    const registry = required('registry', values, 'registry').replace(/\/+$/, '');
    const file = optional(values, 'admin-token-file');
    const token = file !== undefined ? await readAdminToken(file) : io.env.ETDI_ADMIN_TOKEN?.trim();
    if (!token) throw new CliError('USAGE', 'rotate-key needs the administrator token: --admin-token-file <file> or ETDI_ADMIN_TOKEN (see etdi registry --help)');
    const answer = await postJson(`${registry}/v1/admin/registry-keys/rotate`, '{}', token);
    if (answer.status !== 200) throw answerError('the key rotation', answer);
    const rotated = answer.body as { kid: string; previous: string[] };
    out.result({ ok: true, kid: rotated.kid, previous: rotated.previous });
    out.line(`the registry signs with ${rotated.kid} now; still published until their tokens expire: ${rotated.previous.join(', ') || '(none)'}`);
    out.line('hosts pinned the previous keys in their trust files: review and replace them');
    return EXIT.OK;
  },
};
