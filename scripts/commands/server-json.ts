import { rename, stat, writeFile } from 'node:fs/promises';
import {
  MCP_REGISTRY_PUBLISHER_META_KEY,
  MCP_REGISTRY_PUBLISHER_META_MAX_BYTES,
  NamespaceInfoSchema,
  SERVER_JSON_POINTER_KEY,
  ToolListResponseSchema,
  VersionRecordSchema,
  type ServerJsonPointer,
} from '@etdi/schemas';
import type { z } from 'zod';
import { list, optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { answerError, CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { readJsonFile } from '../cli-support/files.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { getJson, registryOrigin } from '../cli-support/registry-http.js';

const help = `etdi server-json <server.json> --registry <url> [--namespace <ns>] [--tools <names>]
                 [--out <file>] [--json]

Writes into a server.json for the official MCP Registry a pointer to the signed versions of
the server's tools here: under the one _meta key that registry keeps,
"${MCP_REGISTRY_PUBLISHER_META_KEY}", the member "${SERVER_JSON_POINTER_KEY}" holds
the registry, the namespace and its log leaf, and each tool's latest version, manifest digest
and log leaf (read from the registry over REST). Everything else in the file is kept, other
members of the publisher-provided object included. Refused, and nothing written, when the file
has another _meta key (that registry drops it silently: move it under the publisher-provided
key or remove it) or when the publisher-provided object would pass that registry's 4096 bytes.

  --namespace <ns>   the namespace whose tools are listed (default: the part of the server's
                     "name" before the "/", as in com.example/weather)
  --tools <names>    only these tools of the namespace (comma-separated names): the server's
                     own, when the namespace holds more than fit in 4096 bytes
  --out <file>       write there instead of rewriting <server.json> in place
  --json             {"ok":true,"file","namespace","tools","bytes"}

Examples:
  etdi server-json server.json --registry https://registry.example
  etdi server-json server.json --registry https://registry.example --tools read_file,write_file

Exit codes: 0 written, 1 refused: another _meta key, or more than 4096 bytes, 2 usage,
unreadable server.json, unknown namespace, registry unreachable.`;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** GET a document of the registry and parse it with its schema (a wrong answer is operational). */
async function read<T>(base: string, path: string, schema: z.ZodType<T>, what: string): Promise<T> {
  const answer = await getJson(`${base}${path}`);
  if (answer.status !== 200) throw answerError(what, answer);
  const parsed = schema.safeParse(answer.body);
  if (!parsed.success) throw new CliError('OPERATIONAL', `the registry's answer to ${path} is not ${what}`, { path });
  return parsed.data;
}

/** The namespace's tools with their latest live versions (a tool whose versions are all revoked has none). */
async function readPointer(base: string, namespace: string, only: readonly string[] | undefined): Promise<ServerJsonPointer> {
  const info = await read(base, `/v1/namespaces/${encodeURIComponent(namespace)}`, NamespaceInfoSchema, `the namespace ${namespace}`);
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const query = `q=${encodeURIComponent(`${namespace}/`)}&limit=200${cursor !== undefined ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await read(base, `/v1/tools?${query}`, ToolListResponseSchema, 'a tool list');
    // q matches descriptions and other namespaces' ids too: keep this namespace's tools
    names.push(...page.items.filter((t) => t.provider === namespace).map((t) => t.name));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  const missing = (only ?? []).filter((name) => !names.includes(name));
  if (missing.length > 0) throw new CliError('USAGE', `${namespace} has no tool ${missing.join(', ')} in the registry`, { namespace, missing });
  const tools: ServerJsonPointer['tools'] = [];
  for (const name of (only ?? names).slice().sort()) {
    const path = `/v1/tools/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/versions/latest`;
    const answer = await getJson(`${base}${path}`);
    if (answer.status === 404) continue; // no live version: nothing to point at
    if (answer.status !== 200) throw answerError(`the latest version of ${namespace}/${name}`, answer);
    const record = VersionRecordSchema.safeParse(answer.body);
    if (!record.success) throw new CliError('OPERATIONAL', `the registry's answer to ${path} is not a version record`, { path });
    const { toolId, version, manifestDigest, leafIndex } = record.data;
    tools.push({ toolId, version, manifestDigest, leafIndex });
  }
  return { registry: await registryOrigin(base), namespace, namespaceLeafIndex: info.leafIndex, tools };
}

/**
 * The size the official registry measures: Go's json.Marshal of the object, which is compact and
 * escapes <, >, & and U+2028/U+2029 as \u00XX sequences (6 bytes where JSON.stringify writes 1-3).
 */
function marshalledBytes(value: unknown): number {
  const escaped = JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return Buffer.byteLength(escaped, 'utf8');
}

/**
 * The server.json with the pointer in place, or a refusal naming the fix: the official registry
 * keeps one _meta key (any other is dropped, so it is refused here rather than lost there) and
 * at most 4096 bytes under it.
 */
function withPointer(server: Json, pointer: ServerJsonPointer, file: string): { server: Json; bytes: number } {
  const meta = server._meta === undefined ? {} : server._meta;
  if (!isObject(meta)) throw new CliError('USAGE', `${file}: _meta is not an object`, { file });
  const others = Object.keys(meta).filter((k) => k !== MCP_REGISTRY_PUBLISHER_META_KEY);
  if (others.length > 0)
    throw new CliError(
      'REFUSED',
      `${file}: _meta has ${others.map((k) => JSON.stringify(k)).join(', ')} besides "${MCP_REGISTRY_PUBLISHER_META_KEY}"; the official MCP Registry keeps only that one key and silently drops the others. Move them under "${MCP_REGISTRY_PUBLISHER_META_KEY}" or remove them, then run this again`,
      { file, keys: others },
    );
  const kept = meta[MCP_REGISTRY_PUBLISHER_META_KEY] ?? {};
  if (!isObject(kept)) throw new CliError('USAGE', `${file}: _meta["${MCP_REGISTRY_PUBLISHER_META_KEY}"] is not an object`, { file });
  const provided = { ...kept, [SERVER_JSON_POINTER_KEY]: pointer };
  const bytes = marshalledBytes(provided);
  if (bytes > MCP_REGISTRY_PUBLISHER_META_MAX_BYTES)
    throw new CliError(
      'REFUSED',
      `${file}: with the pointer to ${pointer.tools.length} tools, _meta["${MCP_REGISTRY_PUBLISHER_META_KEY}"] would be ${bytes} bytes; the official MCP Registry refuses more than ${MCP_REGISTRY_PUBLISHER_META_MAX_BYTES}. List only this server's tools with --tools <names>, or move other content out of the publisher-provided object`,
      { file, bytes, max: MCP_REGISTRY_PUBLISHER_META_MAX_BYTES, tools: pointer.tools.length },
    );
  // the key order of the file is kept: _meta is replaced where it was, or added at the end
  return { server: { ...server, _meta: { [MCP_REGISTRY_PUBLISHER_META_KEY]: provided } }, bytes };
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const mode = await stat(path).then((s) => s.mode & 0o777, () => 0o644);
  const temporary = `${path}.etdi-tmp`;
  await writeFile(temporary, text, { mode });
  await rename(temporary, path);
}

export const serverJsonCommand: Command = {
  name: 'server-json',
  summary: "write the pointer to a server's signed tools into its server.json for the official MCP Registry",
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('server-json', argv, { registry: { type: 'string' }, namespace: { type: 'string' }, tools: { type: 'string' }, out: { type: 'string' } });
    const out = new Output(io, values.json === true);
    if (positionals.length !== 1) throw usage('server-json', 'give one server.json');
    const file = positionals[0]!;
    const base = required('server-json', values, 'registry').replace(/\/+$/, '');
    const server = await readJsonFile(file, 'the server.json', 1024 * 1024);
    if (!isObject(server)) throw new CliError('USAGE', `${file} is not a server.json (a JSON object)`, { file });
    const namespace = optional(values, 'namespace') ?? (typeof server.name === 'string' && server.name.includes('/') ? server.name.slice(0, server.name.indexOf('/')) : undefined);
    if (namespace === undefined) throw usage('server-json', `${file} has no "name" of the form <namespace>/<server>: give --namespace`);
    const only = list(values.tools);
    // the file's rule first: a refusal costs no registry request
    withPointer(server, { registry: base, namespace, namespaceLeafIndex: 0, tools: [] }, file);
    const pointer = await readPointer(base, namespace, only);
    const result = withPointer(server, pointer, file);
    const target = optional(values, 'out') ?? file;
    try {
      await writeAtomically(target, JSON.stringify(result.server, null, 2) + '\n');
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot write ${target}: ${(cause as Error).message}`, { path: target }, { cause });
    }
    out.result({ ok: true, file: target, namespace, tools: pointer.tools.length, bytes: result.bytes });
    out.line(`wrote the pointer to ${pointer.tools.length} tools of ${namespace} into ${target} (${result.bytes} of ${MCP_REGISTRY_PUBLISHER_META_MAX_BYTES} bytes under _meta)`);
    return EXIT.OK;
  },
};
