#!/usr/bin/env node
/**
 * `etdi <verb> [flags]`. Verbs live in scripts/commands/<verb>.ts and are listed in
 * scripts/commands/index.ts; `serve` is scripts/serve.ts. Adding a verb = adding its module and
 * its export: this dispatcher picks up every exported Command.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as exported from './commands/index.js';
import { runCommand, type Command } from './cli-support/command.js';
import { EXIT } from './cli-support/errors.js';
import { processIo, type CliIo } from './cli-support/output.js';
import { serveCommand } from './serve.js';

const isCommand = (v: unknown): v is Command =>
  typeof v === 'object' && v !== null && typeof (v as Command).name === 'string' && typeof (v as Command).run === 'function';

export const COMMANDS: readonly Command[] = [...Object.values(exported).filter(isCommand), serveCommand].sort((a, b) => a.name.localeCompare(b.name));

function usageText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'etdi <command> [flags]   (etdi <command> --help for details)',
    '',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
  ].join('\n');
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    io.stdout.write(usageText());
    return verb === undefined ? EXIT.ERROR : EXIT.OK;
  }
  const command = COMMANDS.find((c) => c.name === verb);
  if (command === undefined) {
    io.stderr.write(`etdi: unknown command ${JSON.stringify(verb)}\n${usageText()}`);
    return EXIT.ERROR;
  }
  return runCommand(command, rest, io);
}

// run only as the entry point (tests import main)
const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`etdi: ${String(error)}\n`);
      process.exitCode = EXIT.ERROR;
    },
  );
}
