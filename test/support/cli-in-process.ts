// `etdi` run by its dispatcher in the test process, its streams captured: for verbs whose
// servers are real processes anyway (proxy, protect, approve). The built binary is processes.ts.
import { Readable, Writable } from 'node:stream';

export interface InProcessRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** This process's environment without colours, plus `extra`. */
export const cliEnv = (extra: Record<string, string> = {}): Record<string, string> => ({ ...(process.env as Record<string, string>), NO_COLOR: '1', ...extra });

export async function etdiInProcess(args: string[], env: Record<string, string> = cliEnv()): Promise<InProcessRun> {
  const { main } = await import('../../scripts/cli.js');
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void): NodeJS.WritableStream => new Writable({ write: (chunk, _enc, cb) => (append(String(chunk)), cb()) });
  const code = await main(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), stdin: Readable.from([]), env });
  return { code, stdout, stderr };
}
