import { EXIT_CODES, EtdiError, isErrorCode, kindOfAnswer, type ErrorCode } from '@etdi/protocol';

/**
 * Exit codes of every `etdi` verb (docs/CLI.md, "Exit codes"). A CI job gates on them, so they
 * never change meaning: 0 success or clean, 1 findings or a refusal, 2 usage or operational
 * error. An error's exit code comes from its code's kind in the one table (@etdi/protocol's
 * ERROR_CODES); a verb returns FINDINGS itself when it reports refusals without throwing.
 */
export const EXIT = { OK: 0, FINDINGS: EXIT_CODES.refusal, ERROR: EXIT_CODES.operational } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The command line's own generic codes (the rest of the table is shared with the verifier and
 * the registry): USAGE (change the command), OPERATIONAL (a file, the registry or a server
 * process failed), REFUSED (the command ran and refused).
 */
export type CliErrorCode = ErrorCode;

/** The CLI's error class: `code` decides the exit code, `evidence` goes to `--json` output. */
export class CliError extends EtdiError {
  override readonly name = 'CliError';

  constructor(code: CliErrorCode, message: string, evidence: Record<string, unknown> = {}, options: { cause?: unknown } = {}) {
    super(code, message, { cause: options.cause, evidence });
  }
}

/**
 * A usage error (exit 2) pointing at the verb's help. The verb's name is not repeated in the
 * message: runCommand already prints "etdi <verb>: USAGE: <message>".
 */
export function usage(verb: string, message: string): CliError {
  return new CliError('USAGE', `${message} (see etdi ${verb} --help)`);
}

/**
 * A registry's non-2xx answer as an error: its problem code when it is one of ours (so 429 and
 * 5xx are operational, exit 2, and a refusal exit 1), else judged by the status alone.
 */
export function answerError(what: string, answer: { status: number; body: unknown }): CliError {
  const problem = (typeof answer.body === 'object' && answer.body !== null ? answer.body : {}) as { code?: unknown; detail?: unknown };
  const kind = kindOfAnswer(answer.status, problem.code);
  const code: ErrorCode = isErrorCode(problem.code) ? problem.code : kind === 'operational' ? 'OPERATIONAL' : 'REFUSED';
  const verb = kind === 'operational' ? 'could not answer' : 'refused';
  return new CliError(code, `the registry ${verb} ${what} (${answer.status} ${String(problem.code ?? '')}): ${String(problem.detail ?? '')}`, {
    status: answer.status,
    problem: answer.body,
  });
}
