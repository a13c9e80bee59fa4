import { writeFile } from 'node:fs/promises';
import { readPrivateKeyFile } from '@etdi/protocol/node';
import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { requestToken } from '../cli-support/registry-http.js';

const help = `etdi token --registry <url> --key <file> --namespace <ns> [--out <file>] [--json]

Obtains a short-lived publisher token: signs a token statement (namespace, key id, registry,
fresh time, nonce) with an active key of the namespace and POSTs it to /v1/tokens. The token is
written to --out (mode 0600) or, without --out, printed on stdout (for ETDI_TOKEN=$(...)).

  --registry <url>    the registry's base URL
  --key <file>        an active key of the namespace (private JWK, 0600)
  --namespace <ns>    the namespace to publish in
  --out <file>        write the token here (0600) instead of stdout
  --json              {"ok":true,"namespace","expiresIn","path"?}  (the token itself only with --out)

Example:
  etdi token --registry http://127.0.0.1:8080 --key acme.jwk --namespace com.acme --out token

Exit codes: 0 token issued, 1 refused by the registry, 2 usage, key file or network error.`;

export const tokenCommand: Command = {
  name: 'token',
  summary: 'get a publisher token for a namespace (signed token statement)',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values } = parse('token', argv, { registry: { type: 'string' }, key: { type: 'string' }, namespace: { type: 'string' }, out: { type: 'string' } }, false);
    const out = new Output(io, values.json === true);
    const registry = required('token', values, 'registry');
    const keyPath = required('token', values, 'key');
    const namespace = required('token', values, 'namespace');
    let key;
    try {
      key = await readPrivateKeyFile(keyPath);
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot use the key ${keyPath}: ${(cause as Error).message}`, { path: keyPath }, { cause });
    }
    const { token, expiresIn } = await requestToken(registry, namespace, key);
    const path = optional(values, 'out');
    if (path !== undefined) await writeFile(path, token + '\n', { mode: 0o600 });
    if (out.json) out.result({ ok: true, namespace, expiresIn, ...(path ? { path } : {}) });
    else if (path === undefined) io.stdout.write(token + '\n');
    else out.line(`token for ${namespace} written to ${path} (expires in ${expiresIn} s)`);
    return EXIT.OK;
  },
};
