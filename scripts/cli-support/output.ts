import { EXIT, type ExitCode } from './errors.js';

/** Where a verb writes: stdout for results, stderr for progress and diagnostics. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Colour = keyof typeof CODES;

/**
 * Human or machine output for one verb. Colour only when stdout is a terminal and NO_COLOR is
 * unset (no-color.org), so piped output and CI logs never carry escape codes; `--json` output is
 * one JSON document on stdout and nothing else there.
 */
export class Output {
  readonly json: boolean;
  readonly io: CliIo;
  private readonly colour: boolean;

  constructor(io: CliIo, json: boolean) {
    this.io = io;
    this.json = json;
    this.colour = io.stdout.isTTY === true && !json && (io.env.NO_COLOR ?? '') === '' && io.env.TERM !== 'dumb';
  }

  get isTty(): boolean {
    return this.io.stdout.isTTY === true;
  }

  paint(colour: Colour, text: string): string {
    return this.colour ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
  }

  /** A line of human output (ignored in --json mode: JSON is written once by `result`). */
  line(text = ''): void {
    if (!this.json) this.io.stdout.write(text + '\n');
  }

  /** A diagnostic on stderr (both modes: stderr never carries the machine-readable result). */
  note(text: string): void {
    this.io.stderr.write(text + '\n');
  }

  /** The machine-readable result (only in --json mode). */
  result(value: unknown): void {
    if (this.json) this.io.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** A plain-text table with aligned columns (no dependency: the widths are a few lines). */
  table(headers: readonly string[], rows: readonly (readonly string[])[]): void {
    if (this.json) return;
    const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const fmt = (cells: readonly string[]): string =>
      cells
        .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd();
    this.line(this.paint('bold', fmt(headers)));
    for (const row of rows) this.line(fmt(row));
  }
}

/** A progress bar on stderr, drawn only when stdout is a terminal (never in pipes or CI logs). */
export class Progress {
  private readonly out: Output;
  private readonly total: number;
  private readonly enabled: boolean;
  private done = 0;

  constructor(out: Output, total: number, label: string, threshold = 10) {
    this.out = out;
    this.total = total;
    this.enabled = out.isTty && !out.json && total >= threshold;
    this.label = label;
  }

  private readonly label: string;

  tick(): void {
    this.done++;
    if (!this.enabled) return;
    const width = 30;
    const filled = Math.round((this.done / this.total) * width);
    this.out.io.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${this.done}/${this.total}`);
  }

  end(): void {
    if (this.enabled) this.out.io.stderr.write('\r\u001b[2K');
  }
}

export { EXIT, type ExitCode };
