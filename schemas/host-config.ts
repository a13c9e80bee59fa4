import { z } from 'zod';

/**
 * One MCP server of a host's configuration file, as Claude Desktop and Cursor (`mcpServers`) and
 * VS Code (`mcp.json`, `servers`) write it: a command to spawn over stdio, or a remote URL.
 * Loose: hosts add their own fields (VS Code's `envFile`, `dev`, ...), which are kept as they are.
 */
export const HostServerEntrySchema = z.looseObject({
  /** VS Code: `stdio`, `http` or `sse`; Claude Desktop and Cursor infer it from command or url. */
  type: z.string().optional(),
  command: z.string().min(1).optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  url: z.string().min(1).optional(),
  headers: z.record(z.string(), z.string()).optional(),
});

/** The two shapes of a host configuration: `mcpServers` (Claude Desktop, Cursor) or `servers` (VS Code). */
export const HostConfigSchema = z.union([
  z.looseObject({ mcpServers: z.record(z.string(), HostServerEntrySchema) }),
  z.looseObject({ servers: z.record(z.string(), HostServerEntrySchema) }),
]);

export type HostServerEntry = z.infer<typeof HostServerEntrySchema>;
export type HostConfig = z.infer<typeof HostConfigSchema>;
