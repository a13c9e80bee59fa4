/** Step 1 (docs/VERIFIER.md): the tool as the server listed it. */
import { ToolDefinitionSchema } from '@etdi/schemas';
import { checkSchema, digestOf } from '@etdi/protocol';
import { VerificationError } from '../errors.js';

declare const listedToolChecked: unique symbol;

/** A listed tool that ToolDefinitionSchema accepted (produced only by checkListedTool). */
export type ListedTool = Record<string, unknown> & { readonly name: string; readonly [listedToolChecked]: true };

/** Step 1: the live tool against ToolDefinitionSchema (SCHEMA_INVALID otherwise); returns it as given. */
export function checkListedTool(value: unknown): ListedTool {
  try {
    return checkSchema(ToolDefinitionSchema, value, 'tool definition') as unknown as ListedTool;
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `the server listed an invalid tool: ${(cause as Error).message}`, {}, { cause });
  }
}

/** Freezes a JSON value and everything in it; returns it. */
export function deepFreeze<T>(value: T): T {
  // No shortcut on an already frozen object: a shallow freeze by someone else leaves its children mutable.
  if (typeof value === 'object' && value !== null) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * `sha256:` digest of JCS(value), or SCHEMA_INVALID: a tool with no canonical form (RFC 8785
 * section 3.1: lone surrogates, non-finite numbers, undefined members) is refused for that.
 */
export function listedDigestOf(value: unknown, toolName: string): string {
  try {
    return digestOf(value);
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `tool "${toolName}" is not canonical JSON: ${(cause as Error).message}`, { toolName }, { cause });
  }
}
