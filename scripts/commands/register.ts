import { jwkThumbprint } from '@etdi/protocol';
import { readPrivateKeyFile } from '@etdi/protocol/node';
import { optional, parse, required, type Values } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, answerError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { readAdminToken, registerNamespace } from '../cli-support/registry-http.js';

const help = `etdi register --registry <url> --key <file> --namespace <ns>
              [--admin-token-file <file> | --mcp-registry http|dns [--domain <domain>]] [--json]

Registers a namespace with its first key: a registration statement (namespace, key id, registry,
fresh time, nonce) signed by the key (proof of possession). Domain control is proven by the
document https://<reversed namespace>/.well-known/etdi-namespace.json, exactly
{"keys":["<key id>"],"namespace":"<ns>"} (a refusal prints the URL and the document), or,
with an administrator token (--admin-token-file or ETDI_ADMIN_TOKEN), by an admin grant.

  --admin-token-file <file>  the administrator token (first line); etdi serve --demo writes
                             one to <data dir>/admin-token and prints this command
  --mcp-registry http|dns    prove the domain the official MCP Registry's way, with the key it
                             already knows: --key is that key (the PEM of openssl genpkey, or a
                             JWK), published as "v=MCPv1; k=ed25519; p=<base64>" at
                             https://<domain>/.well-known/mcp-registry-auth (http) or in a TXT
                             record of <domain> (dns; the registry needs a DNS resolver configured)
  --domain <domain>          the proven domain (default: the reversed namespace); with dns, a
                             parent domain also proves the namespaces under it
  --json                     {"ok":true,"namespace","keyId","verification"[,"proof","domain"]}

Examples:
  etdi register --registry http://127.0.0.1:8080 --key acme.jwk --namespace com.acme
  etdi register --registry http://127.0.0.1:8080 --key acme.jwk --namespace com.acme \\
    --admin-token-file data/admin-token
  etdi register --registry https://registry.example --key key.pem --namespace com.example \\
    --mcp-registry dns

Exit codes: 0 registered, 1 refused by the registry, 2 usage, key file or network error.`;

/** --mcp-registry and --domain: which proof of the official MCP Registry, for which domain. */
function mcpRegistryOption(values: Values, namespace: string, adminFile: string | undefined): { method: 'http' | 'dns'; domain: string } | undefined {
  const method = optional(values, 'mcp-registry');
  const domain = optional(values, 'domain');
  if (method === undefined) {
    if (domain !== undefined) throw usage('register', '--domain goes with --mcp-registry http|dns');
    return undefined;
  }
  if (method !== 'http' && method !== 'dns') throw usage('register', `--mcp-registry is http or dns, not ${method}`);
  if (adminFile !== undefined) throw usage('register', '--mcp-registry proves the domain; it does not go with --admin-token-file');
  return { method, domain: (domain ?? namespace.split('.').reverse().join('.')).toLowerCase() };
}

export const registerCommand: Command = {
  name: 'register',
  summary: 'register a namespace with its first key (well-known document or admin grant)',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values } = parse(
      'register',
      argv,
      { registry: { type: 'string' }, key: { type: 'string' }, namespace: { type: 'string' }, 'admin-token-file': { type: 'string' }, 'mcp-registry': { type: 'string' }, domain: { type: 'string' } },
      false,
    );
    const out = new Output(io, values.json === true);
    const registry = required('register', values, 'registry');
    const keyPath = required('register', values, 'key');
    const namespace = required('register', values, 'namespace');
    const adminFile = optional(values, 'admin-token-file');
    const mcpRegistry = mcpRegistryOption(values, namespace, adminFile);
    // an MCP Registry proof is domain control: never an admin grant, even with ETDI_ADMIN_TOKEN set
    const admin = mcpRegistry !== undefined ? undefined : adminFile !== undefined ? await readAdminToken(adminFile) : io.env.ETDI_ADMIN_TOKEN?.trim() || undefined;
    let key;
    try {
      key = await readPrivateKeyFile(keyPath);
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot use the key ${keyPath}: ${(cause as Error).message}`, { path: keyPath }, { cause });
    }
    const answer = await registerNamespace(registry, namespace, key, admin ? 'admin-grant' : 'well-known', admin, mcpRegistry);
    if (answer.status !== 200 && answer.status !== 201) {
      const refused = answerError(`the registration of ${namespace}`, answer);
      // the other way forward, as a command to copy (the registry's detail names the document)
      if (refused.code === 'DOMAIN_NOT_VERIFIED')
        throw new CliError(refused.code, `${refused.message}\n  with an administrator token instead: etdi register --registry ${registry} --key ${keyPath} --namespace ${namespace} --admin-token-file <file>`, refused.evidence, { cause: refused });
      if (refused.code === 'DNS_PROOF_NOT_CONFIGURED')
        throw new CliError(refused.code, `${refused.message}\n  over HTTP instead: etdi register --registry ${registry} --key ${keyPath} --namespace ${namespace} --mcp-registry http`, refused.evidence, { cause: refused });
      throw refused;
    }
    const proof = mcpRegistry !== undefined ? { proof: `mcp-registry-${mcpRegistry.method}`, domain: mcpRegistry.domain } : {};
    out.result({ ok: true, namespace, keyId: jwkThumbprint(key), verification: admin ? 'admin-grant' : 'well-known', ...proof });
    out.line(`registered ${namespace} with key ${jwkThumbprint(key)}${mcpRegistry !== undefined ? ` (${mcpRegistry.domain} proven by its MCP Registry ${mcpRegistry.method} record)` : ''}`);
    return EXIT.OK;
  },
};
