import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usage } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The flags every verb takes. */
export const COMMON_OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Parsed {
  values: Values;
  positionals: string[];
  /** What follows `--` (a server command), kept apart from positionals. */
  command: string[];
}

/**
 * node:util parseArgs in strict mode: an unknown flag or a missing value is a usage error
 * (exit 2), never silently ignored (a typo in `--lockfile` must not verify against nothing).
 */
export function parse(verb: string, argv: readonly string[], options: Options, allowPositionals = true): Parsed {
  const dash = argv.indexOf('--');
  const own = dash === -1 ? [...argv] : argv.slice(0, dash);
  const command = dash === -1 ? [] : argv.slice(dash + 1);
  const all: Options = { ...COMMON_OPTIONS, ...options };
  try {
    const { values, positionals } = parseArgs({ args: own, options: all, allowPositionals, strict: true });
    return { values: values as Values, positionals, command };
  } catch (cause) {
    throw usage(verb, explainParseError(cause as Error & { code?: string }, own, all));
  }
}

/**
 * parseArgs's messages give Node's advice ("place it at the end of the command after '--'"),
 * which is wrong for a mistyped flag: name the flag and the nearest real one instead.
 */
function explainParseError(error: Error & { code?: string }, args: readonly string[], options: Options): string {
  const names = Object.keys(options);
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const unknown = args.map((a) => /^--?([^=]+)/.exec(a)?.[1]).find((n) => n !== undefined && !names.includes(n) && !Object.values(options).some((o) => o.short === n));
    if (unknown !== undefined) {
      const near = nearestName(unknown, names);
      return near !== undefined ? `unknown flag --${unknown}; did you mean --${near}?` : `unknown flag --${unknown} (flags: ${names.map((n) => `--${n}`).join(', ')})`;
    }
  }
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const flag = /'(--?[\w-]+)/.exec(error.message)?.[1];
    if (flag !== undefined) return options[flag.replace(/^--?/, '')]?.type === 'boolean' ? `${flag} takes no value` : `${flag} needs a value`;
  }
  if (error.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const extra = /'([^']*)'/.exec(error.message)?.[1];
    return `unexpected argument ${JSON.stringify(extra ?? '')} (this verb takes flags only; a server command goes after --)`;
  }
  return error.message;
}

/** The flag a typo most likely meant: edit distance at most a third of its length (and 1..3). */
export function nearestName(typed: string, names: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(typed, name);
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  if (best === undefined) return undefined;
  const limit = Math.min(3, Math.max(1, Math.floor(best.name.length / 3)));
  return best.distance <= limit || best.name.startsWith(typed) || typed.startsWith(best.name) ? best.name : undefined;
}

/** Levenshtein distance (flag names are short: the quadratic table is a few hundred cells). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++)
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

/** A required string flag. */
export function required(verb: string, values: Values, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.length === 0) throw usage(verb, `--${name} is required`);
  return v;
}

/** A comma-separated list flag (`--permissions a,b`); undefined when absent. */
export function list(value: unknown): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** An optional string flag. */
export function optional(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
