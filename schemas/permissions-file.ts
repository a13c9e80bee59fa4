import { z } from 'zod';
import { PermissionSchema } from './manifest.js';
import { TOOL_NAME_PATTERN } from './limits.js';

/**
 * `etdi sign --permissions-file`: what each tool of a server declares, by the name the server
 * lists it under. `policy` is a Cedar policy file, relative to this file's directory.
 *
 *   { "tools": { "read_file": { "permissions": ["files:read"] },
 *                "write_file": { "permissions": ["files:write"], "policy": "write.cedar" } } }
 */
export const ToolPermissionsEntrySchema = z.strictObject({
  permissions: z.array(PermissionSchema).max(64),
  policy: z.string().min(1).optional(),
});

export const ToolPermissionsFileSchema = z.strictObject({
  tools: z.record(z.string().regex(TOOL_NAME_PATTERN, 'a tool name as the server lists it'), ToolPermissionsEntrySchema),
});

export type ToolPermissionsEntry = z.infer<typeof ToolPermissionsEntrySchema>;
export type ToolPermissionsFile = z.infer<typeof ToolPermissionsFileSchema>;
