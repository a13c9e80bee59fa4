import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { VerificationError, type CheckedTool, type WithheldTool } from '@etdi/client';
import { connectTarget, type ConnectedServer } from './server-target.js';

/** One tool's outcome as the CLI reports it (`--json` shape of verify and proxy). */
export interface ToolReport {
  name: string;
  status: 'approved' | 'needs-approval' | 'rejected';
  code?: string;
  message?: string;
  toolId?: string;
  version?: string;
  provider?: string;
  signerKeyId?: string;
  definitionDigest?: string;
  manifestSource?: string;
  approvedPermissions?: string[];
  evidence?: unknown;
}

export function reportOfTool(tool: CheckedTool): ToolReport {
  const base = {
    name: tool.toolName,
    toolId: tool.toolId,
    version: tool.version,
    provider: tool.provider,
    signerKeyId: tool.signerKeyId,
    definitionDigest: tool.definitionDigest,
    // a SEP-3140 tool's signature is its server's capability manifest
    manifestSource: 'declaration' in tool ? 'sep3140' : tool.manifestSource,
  };
  const d = tool.decision;
  if (d.status === 'approved') return { ...base, status: 'approved', approvedPermissions: d.pin.approvedPermissions };
  return { ...base, status: 'needs-approval', code: d.code, message: d.message, evidence: { ...(d.grew ? { grew: d.grew } : {}), ...(d.changes ? { changes: d.changes } : {}), ...(d.pin ? { pinnedVersion: d.pin.version } : {}) } };
}

export function reportOfError(name: string, error: unknown): ToolReport {
  if (error instanceof VerificationError) {
    const e = error.evidence;
    return { name, status: 'rejected', code: error.code, message: error.message, ...(typeof e.toolId === 'string' ? { toolId: e.toolId } : {}), ...(typeof e.version === 'string' ? { version: e.version } : {}), evidence: e };
  }
  return { name, status: 'rejected', code: 'INTERNAL', message: (error as Error)?.message ?? String(error) };
}

export function reportOfWithheld(w: WithheldTool): ToolReport {
  if (w.verified !== undefined) return { ...reportOfTool(w.verified), name: w.name };
  const e = w.evidence;
  return { name: w.name, status: 'rejected', code: w.code, message: w.message, ...(typeof e.toolId === 'string' ? { toolId: e.toolId } : {}), ...(typeof e.version === 'string' ? { version: e.version } : {}), evidence: e };
}

/** Spawns an MCP server command over stdio with the SDK client (see server-target.ts for --url). */
export async function connectServer(
  command: readonly string[],
  clientName = 'etdi',
  env: NodeJS.ProcessEnv = process.env,
  capabilities: ClientCapabilities = {},
): Promise<ConnectedServer> {
  return connectTarget({ kind: 'command', command }, { clientName, env, capabilities });
}

// A reviewer's reading of what changed lives with the change classifier (the SDK wrapper's
// decision trail uses it too).
export { describeChanges } from '@etdi/client';
