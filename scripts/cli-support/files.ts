import { readFile } from 'node:fs/promises';
import { parseStrictJson } from '@etdi/protocol';
import { CliError } from './errors.js';

/** Reads a JSON file with the strict I-JSON parser (duplicate keys refused: they hide content). */
export async function readJsonFile(path: string, what: string, maxBytes = 4 * 1024 * 1024): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new CliError('OPERATIONAL', `cannot read ${what} ${path}: ${(cause as Error).message}`, { path }, { cause });
  }
  try {
    return parseStrictJson(bytes, { maxBytes });
  } catch (cause) {
    throw new CliError('USAGE', `${what} ${path} is not strict JSON: ${(cause as Error).message}`, { path }, { cause });
  }
}

/** The tools of a `tools/list` answer: a bare array, `{ tools }` or a JSON-RPC `{ result: { tools } }`. */
export function toolsOf(value: unknown, path: string): unknown[] {
  if (Array.isArray(value)) return value;
  const obj = value as { tools?: unknown; result?: { tools?: unknown } } | null;
  if (obj && Array.isArray(obj.tools)) return obj.tools;
  if (obj && obj.result && Array.isArray(obj.result.tools)) return obj.result.tools;
  throw new CliError('USAGE', `${path} is not a tools/list answer (an array, {"tools":[...]} or {"result":{"tools":[...]}})`, { path });
}
