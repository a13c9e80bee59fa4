import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import valid from 'semver/functions/valid.js';
import { MANIFEST_TYPE, type SignedManifest, type ToolManifest, type ToolPolicy } from '@etdi/schemas';
import { definitionDigest, manifestDigest, signManifest, toSignedDefinition } from '@etdi/protocol';
import { readPrivateKeyFile } from '@etdi/protocol/node';
import { list, optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { readJsonFile, toolsOf } from '../cli-support/files.js';
import { Output, type CliIo } from '../cli-support/output.js';

const help = `etdi sign --key <file> --namespace <ns> --version <semver>
          (--definition <tool.json> | --tools-list <tools-list.json>)
          [--permissions a,b] [--policy <policy.cedar>] [--out <file|dir>] [--json]

Signs tool definitions into signed manifests (etdi.tool-manifest/v1, Ed25519 over RFC 8785
JCS bytes). The definition is signed exactly as the server lists it (every field; a carried
manifest in _meta is dropped first). --tools-list signs every tool of a server's tools/list
answer (a bare array, {"tools":[...]} or a JSON-RPC {"result":{"tools":[...]}}) with the same
version, permissions and policy.

  --key <file>          the provider's private JWK (0600; etdi keygen)
  --namespace <ns>      the provider namespace (reverse DNS, e.g. com.acme)
  --version <semver>    the version of every signed tool
  --definition <file>   one tool object as the server sends it
  --tools-list <file>   a whole server's tools/list answer
  --permissions a,b     OAuth-style scopes the tool declares (default none)
  --policy <file>       a Cedar policy set carried in the manifest
  --out <file|dir>      one manifest: a file; several (or an existing directory): a directory
                        of <tool-name>@<version>.signed.json; default stdout
  --json                {"ok":true,"manifests":[{"toolId","version","definitionDigest","manifestDigest","path"?,"signedManifest"?}]}

Example:
  etdi sign --key acme.jwk --namespace com.acme --version 1.0.0 \\
    --tools-list tools.json --permissions files:read --out signed/

Exit codes: 0 signed, 2 usage, invalid definition or file error.`;

export const signCommand: Command = {
  name: 'sign',
  summary: 'sign a tool definition or a whole tools/list output into signed manifests',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values } = parse(
      'sign',
      argv,
      {
        key: { type: 'string' },
        namespace: { type: 'string' },
        version: { type: 'string' },
        definition: { type: 'string' },
        'tools-list': { type: 'string' },
        permissions: { type: 'string' },
        policy: { type: 'string' },
        out: { type: 'string' },
      },
      false,
    );
    const out = new Output(io, values.json === true);
    const keyPath = required('sign', values, 'key');
    const namespace = required('sign', values, 'namespace');
    const version = required('sign', values, 'version');
    if (valid(version) !== version) throw usage('sign', `--version ${version} is not a semver version`);
    const definitionPath = optional(values, 'definition');
    const toolsListPath = optional(values, 'tools-list');
    if ((definitionPath === undefined) === (toolsListPath === undefined)) throw usage('sign', 'give exactly one of --definition or --tools-list');

    const definitions = definitionPath !== undefined ? [await readJsonFile(definitionPath, 'the definition')] : toolsOf(await readJsonFile(toolsListPath!, 'the tools/list output'), toolsListPath!);
    if (definitions.length === 0) throw usage('sign', 'the tools/list output lists no tool');
    let policy: ToolPolicy | undefined;
    const policyPath = optional(values, 'policy');
    if (policyPath !== undefined) {
      try {
        policy = { language: 'cedar', policies: await readFile(policyPath, 'utf8') };
      } catch (cause) {
        throw new CliError('OPERATIONAL', `cannot read the policy ${policyPath}: ${(cause as Error).message}`, { path: policyPath }, { cause });
      }
    }
    let key;
    try {
      key = await readPrivateKeyFile(keyPath);
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot use the key ${keyPath}: ${(cause as Error).message}`, { path: keyPath }, { cause });
    }
    const permissions = list(values.permissions) ?? [];
    const issuedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

    const signed: SignedManifest[] = [];
    for (const raw of definitions) {
      const definition = toSignedDefinition((raw ?? {}) as Record<string, unknown>);
      const name = typeof definition.name === 'string' ? definition.name : '(no name)';
      const manifest = {
        type: MANIFEST_TYPE,
        toolId: `${namespace}/${name}`,
        version,
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
