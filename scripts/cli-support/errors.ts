/**
 * Exit codes of every `etdi` verb (docs/CLI.md, "Exit codes"). A CI job gates on them, so they
 * never change meaning: 0 success or clean, 1 findings or a refusal, 2 usage or operational error.
 */
export const EXIT = { OK: 0, FINDINGS: 1, ERROR: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Stable codes of the command line's own errors (verification codes come from the verifier). */
export type CliErrorCode =
  /** Bad flags or arguments: the user must change the command. */
  | 'USAGE'
  /** A file, the registry or a server process failed: retry or fix the environment. */
  | 'OPERATIONAL'
  /** The command ran and refused (a rejected tool, a refused publish): a finding, exit 1. */
  | 'REFUSED';

/** The CLI's one error class: `code` decides the exit code, `evidence` goes to `--json` output. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;
  readonly evidence: Record<string, unknown>;

  constructor(code: CliErrorCode, message: string, evidence: Record<string, unknown> = {}, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.evidence = evidence;
  }

  get exitCode(): ExitCode {
    return this.code === 'REFUSED' ? EXIT.FINDINGS : EXIT.ERROR;
  }
}

/**
 * A usage error (exit 2) pointing at the verb's help. The verb's name is not repeated in the
 * message: runCommand already prints "etdi <verb>: USAGE: <message>".
 */
export function usage(verb: string, message: string): CliError {
  return new CliError('USAGE', `${message} (see etdi ${verb} --help)`);
}
