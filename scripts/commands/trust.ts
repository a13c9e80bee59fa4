import { existsSync } from 'node:fs';
import { optional, parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';

const help = `etdi trust init --registry <url> [--out <file>] [--expect <fingerprint>...] [--force] [--json]
etdi trust show <file> [--json]

init: fetches what a host pins about a registry (its metadata document
/.well-known/etdi-registry.json, its JWKS and its log key), prints the fingerprints for a person
to compare with the ones the registry's operator published, and writes the trust file that the
verifier library (openToolVerifier, readTrustFile) and every host verb (--trust) read.
show: prints the fingerprints a trust file pins.

  --registry <url>      the registry's base URL
  --out <file>          where to write it (default etdi.lock.trust.json, next to etdi.lock.json);
                        refused if it exists, unless --force
  --expect <fp>         a fingerprint you expect (repeat, or comma-separated): attestation key ids
                        and the log key (<name>+<hex id>); then the log key and at least one
                        attestation key must match, only expected keys are pinned, and anything
                        else is refused (TRUST_MISMATCH, exit 1) and nothing is written
  --json                {"ok":true,"path":...,"fingerprints":[...],"trust":{...}}

Example:
  etdi trust init --registry https://registry.example --out etdi.lock.trust.json \\
    --expect 0n3cV...k1Q --expect registry.example/log+1a2b3c4d

Exit codes: 0 written (or shown), 1 the registry's keys differ from --expect, 2 usage, file or
network error.`;

export const trustCommand: Command = {
  name: 'trust',
  summary: "pin a registry's keys in a trust file (init), or show what a trust file pins",
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values, positionals } = parse('trust', argv, {
      registry: { type: 'string' },
      out: { type: 'string' },
      expect: { type: 'string', multiple: true },
      force: { type: 'boolean' },
    });
    const out = new Output(io, values.json === true);
    const [action, ...rest] = positionals;
    const { trustFingerprints } = await import('../cli-support/trust.js');
    const { fetchTrust, readTrustFile, writeTrustFile } = await import('@etdi/client/node');
    if (action === 'show') {
      if (rest.length !== 1) throw usage('trust', 'trust show takes exactly one trust file');
      let trust;
      try {
        trust = await readTrustFile(rest[0]!);
      } catch (cause) {
        // an unreadable or malformed file is a file error (exit 2, as documented), not a finding
        throw new CliError('OPERATIONAL', (cause as Error).message, { path: rest[0] }, { cause });
      }
      const fingerprints = trustFingerprints(trust);
      out.result({ ok: true, path: rest[0], fingerprints, trust });
      out.line(`${rest[0]} pins the registry ${trust.registry} (issuer ${trust.issuer}, audience ${trust.audience}):`);
      for (const f of fingerprints) out.line(`  ${f}`);
      return EXIT.OK;
    }
    if (action !== 'init') throw usage('trust', action === undefined ? 'give init or show' : `unknown action "${action}" (init or show)`);
    if (rest.length > 0) throw usage('trust', `unexpected argument ${rest[0]}`);
    const registry = required('trust', values, 'registry');
    const path = optional(values, 'out') ?? 'etdi.lock.trust.json';
    if (existsSync(path) && values.force !== true)
      throw new CliError('USAGE', `${path} exists; it is a pinned trust root: delete it on purpose or pass --force`, { path });
    const expect = (values.expect as string[] | undefined)?.flatMap((e) => e.split(',')).map((e) => e.trim()).filter((e) => e.length > 0);
    const trust = await fetchTrust(registry, expect && expect.length > 0 ? { expect } : {});
    await writeTrustFile(path, trust, { exclusive: values.force !== true });
    const fingerprints = trustFingerprints(trust);
    out.result({ ok: true, path, fingerprints, trust });
    out.line(`pinned ${trust.registry} (issuer ${trust.issuer}, audience ${trust.audience}) in ${path}:`);
    for (const f of fingerprints) out.line(`  ${f}`);
    if (expect === undefined) out.note('compare these fingerprints with the ones the registry operator published before you commit the file (or pass --expect)');
    return EXIT.OK;
  },
};
