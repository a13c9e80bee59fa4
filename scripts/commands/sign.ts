import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import valid from 'semver/functions/valid.js';
import { MANIFEST_TYPE, ToolPermissionsFileSchema, type SignedManifest, type ToolManifest, type ToolPolicy } from '@etdi/schemas';
import { definitionDigest, manifestDigest, signManifest, toSignedDefinition } from '@etdi/protocol';
import { list, optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { readJsonFile, toolsOf } from '../cli-support/files.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { readKeyFor } from '../cli-support/registry-http.js';
import { SERVER_OPTIONS, SERVER_OPTIONS_HELP, serverTarget } from '../cli-support/server-target.js';

/** What one tool is signed with. */
interface Grant {
  permissions: string[];
  policy?: ToolPolicy;
}

async function readPolicy(path: string): Promise<ToolPolicy> {
  try {
    return { language: 'cedar', policies: await readFile(path, 'utf8') };
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot read the policy ${path}: ${(cause as Error).message}`, { path }, { cause });
  }
}

/**
 * Each listed tool's permissions and policy: its entry in the permissions file, else the
 * flags' set for all; refused when neither names it or when the file names a tool not listed.
 */
async function grantsFor(names: readonly string[], filePath: string | undefined, fallback: Grant | undefined): Promise<Map<string, Grant>> {
  const grants = new Map<string, Grant>();
  if (filePath === undefined) {
    for (const name of names) grants.set(name, fallback ?? { permissions: [] });
    return grants;
  }
  const parsed = ToolPermissionsFileSchema.safeParse(await readJsonFile(filePath, 'the permissions file'));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CliError('USAGE', `the permissions file ${filePath} is not valid at ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? ''} (see etdi sign --help)`, { path: filePath });
  }
  const entries = parsed.data.tools;
  const unknown = Object.keys(entries).filter((n) => !names.includes(n));
  if (unknown.length > 0)
    throw new CliError('USAGE', `the permissions file ${filePath} names ${unknown.map((n) => `"${n}"`).join(', ')}, which the server does not list (listed: ${names.join(', ')})`, { path: filePath, unknown });
  const missing = names.filter((n) => !Object.hasOwn(entries, n));
  if (missing.length > 0 && fallback === undefined)
    throw new CliError('USAGE', `no permissions for ${missing.map((n) => `"${n}"`).join(', ')}: add them to ${filePath} ({"permissions": []} for none), or give --permissions for the rest`, { path: filePath, missing });
  for (const name of names) {
    const entry = entries[name];
    if (entry === undefined) grants.set(name, fallback!);
    else grants.set(name, { permissions: entry.permissions, ...(entry.policy ? { policy: await readPolicy(resolve(dirname(filePath), entry.policy)) } : {}) });
  }
  return grants;
}


const help = `etdi sign --key <file> --namespace <ns> --version <semver>
          (--definition <tool.json> | --tools-list <tools-list.json>
           | -- <mcp server command...> | --url <streamable http url>)
          [--permissions-file <file>] [--permissions a,b] [--policy <policy.cedar>]
          [--out <file|dir>] [--json]
etdi sign --sep3140 --server-uri <uri> --publisher <uri> --key <file> [--kid <kid>]
          [--version <n|semver>] [--trust-file <file>] [--expires-in <30d>]
          (--definition | --tools-list | -- <mcp server command...> | --url) [--out <file>]
          [--publish-file <file>] [--json]

Signs tool definitions into signed manifests (etdi.tool-manifest/v1, Ed25519 over RFC 8785
JCS bytes). The definition is signed exactly as the server lists it (every field; a carried
manifest in _meta is dropped first). --tools-list signs every tool of a server's tools/list
answer (a bare array, {"tools":[...]} or a JSON-RPC {"result":{"tools":[...]}}); given the
server itself (-- <command...> or --url), sign reads its whole tools/list (every page, as
etdi tools prints it) and signs every tool. All get the same version.

Permissions and policy per tool: --permissions-file maps each tool name to its scopes and an
optional Cedar policy file (relative to the permissions file):
  {"tools": {"read_file": {"permissions": ["files:read"]},
             "write_file": {"permissions": ["files:write"], "policy": "write.cedar"}}}
--permissions and --policy apply to every tool the file does not name (without the file: to
every tool). A tool neither names is refused (a tool that needs no scope says
{"permissions": []}), and so is a file entry for a tool the server does not list (a typo
would otherwise sign the real tool with no permission at all).

  --key <file>          the provider's private JWK (0600; etdi keygen)
  --namespace <ns>      the provider namespace (reverse DNS, e.g. com.acme)
  --version <semver>    the version of every signed tool
  --definition <file>   one tool object as the server sends it
  --tools-list <file>   a whole server's tools/list answer
${SERVER_OPTIONS_HELP}
  --permissions-file <file>  each tool's scopes and optional policy (above)
  --permissions a,b     OAuth-style scopes of every tool the permissions file does not name
                        (default none when there is no permissions file)
  --policy <file>       a Cedar policy set carried in those tools' manifests
  --out <file|dir>      one manifest: a file; several (or an existing directory): a directory
                        of <tool-name>@<version>.signed.json; default stdout
  --json                {"ok":true,"manifests":[{"toolId","version","definitionDigest","manifestDigest","path"?,"signedManifest"?}]}

SEP-3140 (--sep3140): one capability manifest for a server, its declarations/manifest answer
({"manifest","signature"}: a detached EdDSA JWS over the manifest's RFC 8785 bytes), to serve
as is (@etdi/provider's addSignedDeclarations({ manifest })). Each tool is declared as listed,
with its version and trust labels; its contentHash is computed here.
  --server-uri <uri>    the server's canonical URI: the manifest's audience
  --publisher <uri>     the publisher's identity (its metadata document)
  --kid <kid>           the key's name in the publisher's JWKS (default: its RFC 7638 thumbprint)
  --version <v>         the version of tools that list none: a decimal integer or semver
  --trust-file <file>   {"tools": {"<name>": {"effect": "read-only", "egress": "none", ...}}}
  --expires-in <d>      the manifest's lifetime, 1m to 366d (default 30d)
  --publish-file <file> also write the registry publish: the signed manifest, every declaration
                        and the signing key's public JWK (etdi publish <file> sends it)
  --json                {"ok":true,"sep3140":{"server","publisher","expiresAt","tools":[{"name","version","contentHash"}],"path"?,"signedManifest"?,"publishPath"?}}

Examples:
  etdi sign --key acme.jwk --namespace com.acme --version 1.0.0 \\
    --tools-list tools.json --permissions files:read --out signed/
  etdi sign --key acme.jwk --namespace com.acme --version 1.0.0 \\
    --permissions-file permissions.json --out signed/ -- npx -y @acme/mcp-server

Exit codes: 0 signed, 2 usage, invalid definition, file error, or the server failed to start
or answer.`;

export const signCommand: Command = {
  name: 'sign',
  summary: 'sign a tool definition or a whole tools/list output into signed manifests',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals, command } = parse(
      'sign',
      argv,
      {
        ...SERVER_OPTIONS,
        'permissions-file': { type: 'string' },
        key: { type: 'string' },
        namespace: { type: 'string' },
        version: { type: 'string' },
        definition: { type: 'string' },
        'tools-list': { type: 'string' },
        permissions: { type: 'string' },
        policy: { type: 'string' },
        out: { type: 'string' },
        sep3140: { type: 'boolean' },
        'server-uri': { type: 'string' },
        publisher: { type: 'string' },
        kid: { type: 'string' },
        'trust-file': { type: 'string' },
        'expires-in': { type: 'string' },
        'publish-file': { type: 'string' },
      },
    );
    if (positionals.length > 0) throw usage('sign', `unexpected argument ${positionals[0]} (put the server command after --)`);
    const out = new Output(io, values.json === true);
    const keyPath = required('sign', values, 'key');
    const sep3140 = values.sep3140 === true;
    const own = ['namespace', 'permissions-file', 'permissions', 'policy'];
    const sepOnly = ['server-uri', 'publisher', 'kid', 'trust-file', 'expires-in', 'publish-file'];
    for (const flag of sep3140 ? own : sepOnly) if (values[flag] !== undefined) throw usage('sign', `--${flag} ${sep3140 ? 'is for etdi manifests, not with --sep3140' : 'goes with --sep3140'}`);
    const namespace = sep3140 ? '' : required('sign', values, 'namespace');
    const version = sep3140 ? optional(values, 'version') : required('sign', values, 'version');
    if (!sep3140 && valid(version) !== version) throw usage('sign', `--version ${version} is not a semver version`);
    const definitionPath = optional(values, 'definition');
    const toolsListPath = optional(values, 'tools-list');
    const fromServer = command.length > 0 || values.url !== undefined;
    if ([definitionPath !== undefined, toolsListPath !== undefined, fromServer].filter(Boolean).length !== 1)
      throw usage('sign', 'give exactly one of --definition, --tools-list, -- <server command> or --url');

    let definitions: unknown[];
    if (definitionPath !== undefined) definitions = [await readJsonFile(definitionPath, 'the definition')];
    else if (toolsListPath !== undefined) definitions = toolsOf(await readJsonFile(toolsListPath, 'the tools/list output'), toolsListPath);
    else {
      const target = serverTarget('sign', values, command);
      const { connectTarget, fetchToolsList } = await import('../cli-support/server-target.js');
      const server = await connectTarget(target, { clientName: 'etdi-sign', env: io.env });
      try {
        definitions = await fetchToolsList(server.client, target);
      } finally {
        await server.close().catch(() => undefined);
      }
    }
    if (definitions.length === 0) throw usage('sign', 'the tools/list output lists no tool');
    if (sep3140) {
      const { signSep3140 } = await import('./sign-sep3140.js');
      return signSep3140({
        definitions,
        key: await readKeyFor(keyPath),
        serverUri: required('sign', values, 'server-uri'),
        publisher: required('sign', values, 'publisher'),
        ...(version !== undefined ? { version } : {}),
        ...(typeof values.kid === 'string' ? { kid: values.kid } : {}),
        ...(typeof values['trust-file'] === 'string' ? { trustFile: values['trust-file'] } : {}),
        expiresIn: optional(values, 'expires-in') ?? '30d',
        ...(typeof values.out === 'string' ? { outPath: values.out } : {}),
        ...(typeof values['publish-file'] === 'string' ? { publishPath: values['publish-file'] } : {}),
        out,
        io,
      });
    }
    const nameOf = (raw: unknown): string => {
      const name = (raw as { name?: unknown } | null)?.name;
      return typeof name === 'string' ? name : '(no name)';
    };
    const policyPath = optional(values, 'policy');
    const flagPermissions = list(values.permissions);
    const fallback: Grant | undefined =
      flagPermissions !== undefined || policyPath !== undefined ? { permissions: flagPermissions ?? [], ...(policyPath !== undefined ? { policy: await readPolicy(policyPath) } : {}) } : undefined;
    const grants = await grantsFor(definitions.map(nameOf), optional(values, 'permissions-file'), fallback);
    const key = await readKeyFor(keyPath);
    const issuedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

    const signed: SignedManifest[] = [];
    for (const raw of definitions) {
      const definition = toSignedDefinition((raw ?? {}) as Record<string, unknown>);
      const name = nameOf(definition);
      const { permissions, policy } = grants.get(name) ?? { permissions: [] };
      const manifest = {
        type: MANIFEST_TYPE,
        toolId: `${namespace}/${name}`,
        version: version!,
        provider: namespace,
        definition,
        permissions,
        ...(policy ? { policy } : {}),
        issuedAt,
      } as ToolManifest;
      try {
        signed.push(await signManifest(manifest, [key]));
      } catch (cause) {
        throw new CliError('USAGE', `cannot sign "${name}": ${(cause as Error).message}`, { tool: name }, { cause });
      }
    }

    const target = optional(values, 'out');
    const paths: (string | undefined)[] = [];
    if (target !== undefined) {
      const asDir = signed.length > 1 || target.endsWith('/') || (existsSync(target) && statSync(target).isDirectory());
      if (asDir) await mkdir(target, { recursive: true });
      for (const s of signed) {
        const path = asDir ? join(target, `${s.manifest.definition.name}@${s.manifest.version}.signed.json`) : target;
        await writeFile(path, JSON.stringify(s, null, 2) + '\n');
        paths.push(path);
      }
    }
    const summary = signed.map((s, i) => ({
      toolId: s.manifest.toolId,
      version: s.manifest.version,
      definitionDigest: definitionDigest(s.manifest.definition),
      manifestDigest: manifestDigest(s.manifest),
      ...(paths[i] ? { path: paths[i] } : { signedManifest: s }),
    }));
    out.result({ ok: true, manifests: summary });
    if (!out.json) {
      if (target === undefined) io.stdout.write(JSON.stringify(signed.length === 1 ? signed[0] : signed, null, 2) + '\n');
      else out.table(['TOOL', 'VERSION', 'DEFINITION DIGEST', 'FILE'], summary.map((s) => [s.toolId, s.version, s.definitionDigest, 'path' in s ? s.path : '']));
    }
    return EXIT.OK;
  },
};
