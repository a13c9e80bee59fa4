import { checkSchema, decodeSignedManifest } from '@etdi/protocol';
import { DeclarationsPublishSchema, type DeclarationsPublish, type DeclarationsPublishResult, type SignedManifest } from '@etdi/schemas';
import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { readJsonFile } from '../cli-support/files.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { postJson, readToken } from '../cli-support/registry-http.js';

const help = `etdi publish <signed.json...> --registry <url> [--token-file <file>] [--json]

Publishes signed manifests (files written by etdi sign; a file may hold one manifest or an
array) to the registry, one POST /v1/tools each, and reports each result: created (201),
unchanged (200: the same content was already published) or refused with the registry's
problem code (VERSION_EXISTS, VERSION_NOT_HIGHER, UNTRUSTED_SIGNER, ...). A SEP-3140 publish
(etdi sign --sep3140 --publish-file) goes to POST /v1/declarations: every tool it declares
becomes a version of <publisher's domain, reversed>/<tool>, all of them or none.

  --registry <url>      the registry's base URL
  --token-file <file>   a publisher token (first line); default: the ETDI_TOKEN variable
                        (etdi token --out <file> gets one)
  --json                {"ok":bool,"results":[{"file","toolId","version","status","result","code"?,"detail"?,"definitionDigest"?}]}

Example:
  ETDI_TOKEN=$(cat token) etdi publish signed/*.signed.json --registry http://127.0.0.1:8080
  ETDI_TOKEN=$(cat token) etdi publish sep3140-publish.json --registry http://127.0.0.1:8080

Exit codes: 0 every manifest published or unchanged, 1 at least one refused (an expired
token is TOKEN_EXPIRED: run etdi token again), 2 usage, unreadable file, no token, registry
unreachable, busy (429) or failing (5xx).`;

interface PublishResult {
  file: string;
  toolId?: string;
  version?: string;
  status: number;
  result: 'created' | 'unchanged' | 'refused';
  code?: string;
  detail?: string;
  definitionDigest?: string;
}

export const publishCommand: Command = {
  name: 'publish',
  summary: 'publish signed manifests to a registry, reporting each result',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('publish', argv, { registry: { type: 'string' }, 'token-file': { type: 'string' } });
    const out = new Output(io, values.json === true);
    const registry = required('publish', values, 'registry').replace(/\/+$/, '');
    if (positionals.length === 0) throw usage('publish', 'give at least one signed manifest file');
    const token = await readToken(optional(values, 'token-file'), io.env);

    const items: { file: string; manifest: SignedManifest | undefined; declarations?: DeclarationsPublish; error?: string }[] = [];
    for (const file of positionals) {
      const value = await readJsonFile(file, 'the signed manifest');
      for (const v of Array.isArray(value) ? value : [value]) {
        try {
          if (isDeclarationsPublish(v)) items.push({ file, manifest: undefined, declarations: checkSchema(DeclarationsPublishSchema, v, 'the SEP-3140 publish') });
          else items.push({ file, manifest: decodeSignedManifest(v) });
        } catch (error) {
          items.push({ file, manifest: undefined, error: (error as Error).message });
        }
      }
    }
    const results: PublishResult[] = [];
    for (const item of items) {
      if (item.declarations !== undefined) {
        results.push(...(await publishDeclarations(registry, item.file, item.declarations, token)));
        continue;
      }
      if (item.manifest === undefined) {
        results.push({ file: item.file, status: 0, result: 'refused', code: 'SCHEMA_INVALID', detail: item.error ?? 'not a signed manifest' });
        continue;
      }
      const { manifest } = item.manifest;
      // The manifest goes out exactly as it was signed (the file's JSON), one request each.
      const answer = await postJson(`${registry}/v1/tools`, JSON.stringify(item.manifest), token);
      const body = answer.body as { code?: unknown; detail?: unknown; definitionDigest?: unknown };
      const base = { file: item.file, toolId: manifest.toolId, version: manifest.version, status: answer.status };
      if (answer.status === 201 || answer.status === 200)
        results.push({ ...base, result: answer.status === 201 ? 'created' : 'unchanged', ...(typeof body.definitionDigest === 'string' ? { definitionDigest: body.definitionDigest } : {}) });
      else results.push({ ...base, result: 'refused', code: typeof body.code === 'string' ? body.code : `HTTP_${answer.status}`, detail: typeof body.detail === 'string' ? body.detail : '' });
    }
    const ok = results.every((r) => r.result !== 'refused');
    out.result({ ok, results });
    out.table(
      ['TOOL', 'VERSION', 'RESULT', 'DETAIL'],
      results.map((r) => [r.toolId ?? r.file, r.version ?? '', r.result === 'refused' ? out.paint('red', `refused ${r.code ?? ''}`) : out.paint('green', r.result), r.detail ?? '']),
    );
    // A registry that was busy (429) or failed (5xx) decided nothing: retry, exit 2, not a finding.
    if (results.some((r) => r.status === 429 || r.status >= 500)) return EXIT.ERROR;
    return ok ? EXIT.OK : EXIT.FINDINGS;
  },
};

/** A SEP-3140 publish file (etdi sign --sep3140 --publish-file) rather than a signed manifest of ours. */
const isDeclarationsPublish = (value: unknown): boolean => typeof value === 'object' && value !== null && 'signed' in value && 'declarations' in value;

/** POST /v1/declarations: one request for every tool of the manifest, one result per tool (or one refusal for all). */
async function publishDeclarations(registry: string, file: string, body: DeclarationsPublish, token: string): Promise<PublishResult[]> {
  const answer = await postJson(`${registry}/v1/declarations`, JSON.stringify(body), token);
  if (answer.status === 201 || answer.status === 200)
    return (answer.body as DeclarationsPublishResult).tools.map((t) => ({
      file,
      toolId: t.toolId,
      version: t.version,
      status: answer.status,
      result: t.created ? 'created' : 'unchanged',
      definitionDigest: t.definitionDigest,
    }));
  const problem = answer.body as { code?: unknown; detail?: unknown };
  return [{ file, status: answer.status, result: 'refused', code: typeof problem.code === 'string' ? problem.code : `HTTP_${answer.status}`, detail: typeof problem.detail === 'string' ? problem.detail : '' }];
}
