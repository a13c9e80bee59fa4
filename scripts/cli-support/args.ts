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
  try {
    const { values, positionals } = parseArgs({ args: own, options: { ...COMMON_OPTIONS, ...options }, allowPositionals, strict: true });
    return { values: values as Values, positionals, command };
  } catch (cause) {
    throw usage(verb, (cause as Error).message);
  }
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
