import { existsSync } from 'node:fs';
import { jwkThumbprint, keyAddRequest } from '@etdi/protocol';
import type { KeyStatus } from '@etdi/schemas';
import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { answerError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';
import { bearerFor, getJson, postJson, readKeyFor, registryOrigin } from '../cli-support/registry-http.js';

const help = `etdi keys list --registry <url> --namespace <ns> [--json]
etdi keys add --registry <url> --namespace <ns> --key <active key> --new-key <file> [--json]
etdi keys revoke <keyId | key file> --registry <url> --namespace <ns> --reason <text> [--from <time>]
     [--key <file> | --token-file <file> | --admin-token-file <file>] [--json]

A namespace's signing keys (each a transparency-log event):
  list     every key with its status (active, or revoked from a time, with the reason)
  add      a new key (from etdi keygen), authorised by a signature of an active key and proving
           possession of the new one; rotate keys by adding the new one, then revoking the old
  revoke   a key (its id, or its JWK file), from --from on (default now). Signatures it made at or after that time are
           refused (KEY_REVOKED), including versions already published with it: give the time
           of the compromise, not the time you noticed it. The sessions its tokens opened end.

  --key <file>               an active key of the namespace (add: signs the authorisation;
                             revoke: obtains a publisher token; it may be the key revoked)
  --new-key <file>           add: the key to add (private JWK, 0600; etdi keygen)
  --reason <text>            revoke: required, recorded in the log and shown to verifiers
  --from <time>              revoke: ISO 8601 time (e.g. 2026-12-01T00:00:00Z); default now
  --token-file <file>        a publisher token (etdi token); or ETDI_TOKEN
  --admin-token-file <file>  the administrator token; or ETDI_ADMIN_TOKEN
  --json                     list: {"ok":true,"namespace","keys":[KeyStatus]};
                             add, revoke: {"ok":true,"namespace","key":KeyStatus}

Examples:
  etdi keys list --registry http://127.0.0.1:8080 --namespace com.acme
  etdi keygen --out acme-2.jwk
  etdi keys add --registry http://127.0.0.1:8080 --namespace com.acme --key acme.jwk --new-key acme-2.jwk
  etdi keys revoke acme.jwk --registry http://127.0.0.1:8080 --namespace com.acme \\
    --reason "laptop stolen" --from 2026-12-01T00:00:00Z --key acme-2.jwk

Exit codes: 0 done, 1 refused by the registry (already revoked, key exists, not authorised,
expired token), 2 usage, unknown namespace or key, key file, registry unreachable, busy (429)
or failing (5xx).`;

/** An ISO 8601 time with a zone, as the registry's schema wants it (UTC, `Z`). */
function revokedFrom(text: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text))
    throw usage('keys', `--from must be an ISO 8601 time with a zone, e.g. 2026-12-01T00:00:00Z (got ${JSON.stringify(text)})`);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw usage('keys', `--from is not a valid time: ${text}`);
  return new Date(ms).toISOString();
}

function keyRow(k: KeyStatus): string[] {
  return [k.keyId, k.status, k.addedAt, k.revokedFrom ?? '', k.reason ?? ''];
}

export const keysCommand: Command = {
  name: 'keys',
  summary: "list, add or revoke a namespace's signing keys (revocation from a time)",
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('keys', argv, {
      registry: { type: 'string' },
      namespace: { type: 'string' },
      key: { type: 'string' },
      'new-key': { type: 'string' },
      reason: { type: 'string' },
      from: { type: 'string' },
      'token-file': { type: 'string' },
      'admin-token-file': { type: 'string' },
    });
    const out = new Output(io, values.json === true);
    const [action, ...rest] = positionals;
    if (action !== 'list' && action !== 'add' && action !== 'revoke') throw usage('keys', 'the actions are "keys list", "keys add" and "keys revoke <keyId>"');
    const registry = required('keys', values, 'registry').replace(/\/+$/, '');
    const namespace = required('keys', values, 'namespace');
    const keysUrl = `${registry}/v1/namespaces/${encodeURIComponent(namespace)}/keys`;

    if (action === 'list') {
      if (rest.length > 0) throw usage('keys', `keys list takes no argument (got ${rest[0]})`);
      const answer = await getJson(keysUrl);
      if (answer.status !== 200) throw answerError(`the keys of ${namespace}`, answer);
      const keys = answer.body as KeyStatus[];
      out.result({ ok: true, namespace, keys });
      out.table(['KEY ID', 'STATUS', 'ADDED', 'REVOKED FROM', 'REASON'], keys.map(keyRow));
      return EXIT.OK;
    }

    if (action === 'add') {
      if (rest.length > 0) throw usage('keys', `keys add takes no argument (got ${rest[0]}); the new key is --new-key <file>`);
      const authorizer = await readKeyFor(required('keys', values, 'key'));
      const fresh = await readKeyFor(required('keys', values, 'new-key'));
      const { token } = await bearerFor(
        { registry, namespace, adminTokenFile: optional(values, 'admin-token-file'), tokenFile: optional(values, 'token-file'), keyPath: optional(values, 'key'), env: io.env },
        'keys',
      );
      const body = await keyAddRequest(authorizer, fresh, { registry: await registryOrigin(registry), namespace });
      const answer = await postJson(keysUrl, JSON.stringify(body), token);
      if (answer.status !== 201) throw answerError(`adding ${jwkThumbprint(fresh)} to ${namespace}`, answer);
      const key = answer.body as KeyStatus;
      out.result({ ok: true, namespace, key });
      out.line(`added key ${key.keyId} to ${namespace} (authorised by ${jwkThumbprint(authorizer)})`);
      return EXIT.OK;
    }

    if (rest.length !== 1) throw usage('keys', 'give the key to revoke: etdi keys revoke <keyId | key file> ...');
    // the key's own file names it without copying its id (its thumbprint) by hand
    const keyId = existsSync(rest[0]!) ? jwkThumbprint(await readKeyFor(rest[0]!)) : rest[0]!;
    const reason = required('keys', values, 'reason');
    const fromText = optional(values, 'from');
    const from = fromText === undefined ? undefined : revokedFrom(fromText);
    const { token } = await bearerFor(
      { registry, namespace, adminTokenFile: optional(values, 'admin-token-file'), tokenFile: optional(values, 'token-file'), keyPath: optional(values, 'key'), env: io.env },
      'keys',
    );
    const answer = await postJson(`${keysUrl}/${encodeURIComponent(keyId)}/revoke`, JSON.stringify({ reason, ...(from ? { revokedFrom: from } : {}) }), token);
    if (answer.status !== 200) throw answerError(`the revocation of key ${keyId} of ${namespace}`, answer);
    const key = answer.body as KeyStatus;
    out.result({ ok: true, namespace, key });
    out.line(`revoked key ${keyId} of ${namespace} from ${key.revokedFrom ?? from ?? 'now'}: ${reason}`);
    out.line('versions it signed at or after that time are refused (KEY_REVOKED); publish them again signed with an active key');
    return EXIT.OK;
  },
};
