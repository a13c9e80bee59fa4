import { z } from 'zod';
import { OpaqueJsonObjectSchema } from './json.js';
import { definitionWithinLimits } from './refinements.js';
import { LIMITS, TOOL_NAME_PATTERN } from './limits.js';

/**
 * A JSON Schema object as MCP requires for `inputSchema`/`outputSchema`: `type: "object"`.
 * Every other keyword is kept as sent (it is covered by the signature, never stripped).
 */
export const ObjectJsonSchemaSchema = z.looseObject({
  type: z.literal('object'),
  properties: OpaqueJsonObjectSchema.optional(),
  required: z.array(z.string()).optional(),
});

/** MCP tool annotations: the four hints are typed, non-standard keys are kept (real servers send them). */
export const ToolAnnotationsSchema = z.looseObject({
  title: z.string().max(LIMITS.maxStringLength).optional(),
  readOnlyHint: z.boolean().optional(),
  destructiveHint: z.boolean().optional(),
  idempotentHint: z.boolean().optional(),
  openWorldHint: z.boolean().optional(),
});

export const ToolIconSchema = z.looseObject({
  src: z.string().min(1).max(LIMITS.maxStringLength),
  mimeType: z.string().max(255).optional(),
  sizes: z.array(z.string().max(64)).max(32).optional(),
});

export const ToolExecutionSchema = z.looseObject({
  taskSupport: z.enum(['forbidden', 'optional', 'required']).optional(),
});

/**
 * The MCP tool object exactly as a server lists it in `tools/list`. Known fields are validated;
 * unknown fields (a newer MCP revision's) are kept, so they stay under the signature.
 * Zod's output is only ever used for reading: signatures and digests are computed over the
 * value as received (see protocol/manifest.ts).
 */
export const ToolDefinitionSchema = z
  .looseObject({
    name: z.string().regex(TOOL_NAME_PATTERN, 'tool name must be 1-128 chars of A-Za-z0-9_.- (not . or ..)'),
    title: z.string().max(LIMITS.maxStringLength).optional(),
    description: z.string().max(LIMITS.maxDescriptionLength).optional(),
    inputSchema: ObjectJsonSchemaSchema,
    outputSchema: ObjectJsonSchemaSchema.optional(),
    annotations: ToolAnnotationsSchema.optional(),
    icons: z.array(ToolIconSchema).max(32).optional(),
    execution: ToolExecutionSchema.optional(),
    _meta: OpaqueJsonObjectSchema.optional(),
  })
  .superRefine((def, ctx) => {
    for (const issue of definitionWithinLimits(def)) ctx.addIssue({ code: 'custom', ...issue });
  });

export type ToolDefinition = z.infer<typeof ToolDefinitionSchema>;
export type ToolAnnotations = z.infer<typeof ToolAnnotationsSchema>;

