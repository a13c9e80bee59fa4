import { ProtocolError } from '@etdi/protocol';
import { CliError, EXIT, type ExitCode } from './errors.js';
import { Output, type CliIo } from './output.js';

/** Verification codes that mean "could not check", not "checked and refused" (exit 2, not 1). */
export const OPERATIONAL_CODES: ReadonlySet<string> = new Set(['REGISTRY_UNAVAILABLE', 'RESPONSE_TOO_LARGE', 'LOCKFILE_CORRUPT']);

/**
 * A client-verifier VerificationError, recognised by shape: importing the verifier here would
 * load the MCP SDK and the policy engine for every verb, `--help` included (start-up time).
 */
function isVerificationErrorLike(error: unknown): error is Error & { code: string; evidence: unknown } {
  return error instanceof Error && error.name === 'VerificationError' && typeof (error as { code?: unknown }).code === 'string';
}

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
    if (error instanceof CliError) {
      code = error.code;
      exit = error.exitCode;
      evidence = error.evidence;
    } else if (isVerificationErrorLike(error)) {
      code = error.code;
      exit = OPERATIONAL_CODES.has(error.code) ? EXIT.ERROR : EXIT.FINDINGS;
      evidence = error.evidence;
    } else if (error instanceof ProtocolError) {
      code = error.code;
      exit = EXIT.ERROR;
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
