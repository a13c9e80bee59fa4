import { EtdiError } from '@etdi/protocol';
import { EXIT, type ExitCode } from './errors.js';
import { Output, type CliIo } from './output.js';

/** One verb of `etdi`. `run` returns the exit code; thrown errors are mapped by `runCommand`. */
export interface Command {
  name: string;
  /** One line for `etdi --help`. */
  summary: string;
  /** The full `--help` text: synopsis, flags, an example, exit codes. */
  help: string;
  run(argv: readonly string[], io: CliIo): Promise<ExitCode>;
}

/**
 * Runs a verb: `--help` prints its help, errors become exit codes (CliError: its own; a
 * VerificationError/ProtocolError that escapes a verb is a refusal, exit 1; anything else is an
 * operational error, exit 2). In `--json` mode the error is also a JSON document on stdout.
 */
export async function runCommand(command: Command, argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const own = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (own.includes('--help') || own.includes('-h')) {
    io.stdout.write(command.help.trimEnd() + '\n');
    return EXIT.OK;
  }
  const json = own.includes('--json') || own.includes('--sarif');
  try {
    return await command.run(argv, io);
  } catch (error) {
    const out = new Output(io, json);
    let code: string;
    let exit: ExitCode;
    let evidence: unknown = {};
    if (error instanceof EtdiError) {
      // every error of the project: its exit code is its code's kind in the one table
      code = error.code;
      exit = error.exitCode;
      evidence = error.evidence;
    } else {
      code = 'INTERNAL';
      exit = EXIT.ERROR;
    }
    const message = (error as Error)?.message ?? String(error);
    out.note(`etdi ${command.name}: ${code}: ${message}`);
    if (json) io.stdout.write(JSON.stringify({ ok: false, error: { code, message, evidence } }, null, 2) + '\n');
    return exit;
  }
}
