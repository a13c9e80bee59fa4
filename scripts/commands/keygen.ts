import { existsSync } from 'node:fs';
import { generateKeyPair } from '@etdi/protocol';
import { writePrivateKeyFile } from '@etdi/protocol/node';
import { parse, required } from '../cli-support/args.js';
import type { Command } from '../cli-support/command.js';
import { CliError, EXIT, type ExitCode } from '../cli-support/errors.js';
import { Output, type CliIo } from '../cli-support/output.js';

const help = `etdi keygen --out <file> [--force] [--json]

Generates an Ed25519 provider key pair. The private JWK is written to <file> with mode 0600
(atomically; never printed); the key id (RFC 7638 JWK thumbprint) and the public JWK are printed.

  --out <file>   where to write the private key (refused if it exists, unless --force)
  --force        overwrite an existing file
  --json         {"ok":true,"keyId":...,"path":...,"publicJwk":{...}}

Example:
  etdi keygen --out ~/.etdi/acme.jwk

Exit codes: 0 written, 2 usage or file error.`;

export const keygenCommand: Command = {
  name: 'keygen',
  summary: 'generate an Ed25519 provider key (0600 JWK file), print its key id',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values } = parse('keygen', argv, { out: { type: 'string' }, force: { type: 'boolean' } }, false);
    const out = new Output(io, values.json === true);
    const path = required('keygen', values, 'out');
    if (existsSync(path) && values.force !== true) throw new CliError('USAGE', `${path} exists; pass --force to overwrite it`, { path });
    const pair = generateKeyPair();
    try {
      await writePrivateKeyFile(path, pair.privateJwk);
    } catch (cause) {
      throw new CliError('OPERATIONAL', `cannot write ${path}: ${(cause as Error).message}`, { path }, { cause });
    }
    out.result({ ok: true, keyId: pair.keyId, path, publicJwk: pair.publicJwk });
    out.line(pair.keyId);
    out.note(`private key written to ${path} (mode 0600); public JWK: ${JSON.stringify(pair.publicJwk)}`);
    return EXIT.OK;
  },
};
