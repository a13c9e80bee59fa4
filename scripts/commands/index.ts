// The `etdi` verbs this folder provides (scripts/cli.ts dispatches to them). Public on purpose.
export { keygenCommand } from './keygen.js';
export { signCommand } from './sign.js';
export { publishCommand } from './publish.js';
export { tokenCommand } from './token.js';
export { registerCommand } from './register.js';
export { verifyCommand } from './verify.js';
export { approveCommand } from './approve.js';
export { pinsCommand } from './pins.js';
export { auditCommand, toSarif, type AuditFinding } from './audit.js';
export { diffCommand } from './diff.js';
export { logCommand } from './log-verify.js';
export { proxyCommand, withheldError } from './proxy.js';
export { trustCommand } from './trust.js';
export { runCommand, type Command } from '../cli-support/command.js';
export { processIo, type CliIo } from '../cli-support/output.js';
export { EXIT, CliError, type ExitCode, type CliErrorCode } from '../cli-support/errors.js';
