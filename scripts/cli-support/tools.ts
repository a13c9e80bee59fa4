import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { MANIFEST_META_KEY, type SignedManifest } from '@etdi/schemas';
import { VerificationError, type ToolChanges, type VerifiedTool, type WithheldTool } from '@etdi/client';
import { CliError } from './errors.js';

/**
 * A registry version as a server would list it, with its signed manifest carried in `_meta`:
 * the verifier then checks it exactly like a live tool (signature, key, log, attestation,
 * revocation, pins), so approving from the registry and verifying a server share one path.
 */
export function carriedDefinition(signed: SignedManifest): Record<string, unknown> {
  const definition = signed.manifest.definition as Record<string, unknown>;
  const meta = (definition._meta ?? {}) as Record<string, unknown>;
  return { ...definition, _meta: { ...meta, [MANIFEST_META_KEY]: signed } };
}

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

export function reportOfTool(tool: VerifiedTool): ToolReport {
  const base = {
    name: tool.toolName,
    toolId: tool.toolId,
    version: tool.version,
    provider: tool.provider,
    signerKeyId: tool.signerKeyId,
    definitionDigest: tool.definitionDigest,
    manifestSource: tool.manifestSource,
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

/** Spawns an MCP server command over stdio with the SDK client. */
export async function connectServer(
  command: readonly string[],
  clientName = 'etdi',
  env: NodeJS.ProcessEnv = process.env,
  capabilities: ClientCapabilities = {},
): Promise<{ client: Client; close(): Promise<void> }> {
  const [cmd, ...args] = command;
  if (cmd === undefined) throw new CliError('USAGE', 'give the MCP server command after --');
  // The server gets the caller's environment (its API keys, config), as if the host ran it.
  const environment = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const transport = new StdioClientTransport({ command: cmd, args, env: environment, stderr: 'inherit' });
  const client = new Client({ name: clientName, version: '0.1.0' }, { capabilities });
  try {
    await client.connect(transport);
  } catch (cause) {
    await transport.close().catch(() => undefined);
    throw new CliError('OPERATIONAL', `cannot start or initialise the MCP server "${command.join(' ')}": ${(cause as Error).message}`, { command }, { cause });
  }
  return { client, close: () => client.close() };
}

/** A reviewer's reading of what changed (one line each), used by diff and approve. */
export function describeChanges(changes: ToolChanges, texts?: { before?: string; after?: string }): string[] {
  const lines: string[] = [];
  for (const p of changes.permissionsAdded) lines.push(`+ permission ${p}`);
  for (const p of changes.permissionsRemoved) lines.push(`- permission ${p}`);
  for (const h of changes.riskierAnnotations) lines.push(`! ${h.hint}: ${h.from} -> ${h.to} (riskier)`);
  for (const h of changes.saferAnnotations) lines.push(`  ${h.hint}: ${h.from} -> ${h.to} (safer)`);
  if (changes.definitionCompared) {
    for (const p of changes.inputParamsAdded) lines.push(`+ input parameter "${p}"`);
    for (const p of changes.inputParamsRemoved) lines.push(`- input parameter "${p}"`);
    for (const p of changes.inputParamsNewlyRequired) lines.push(`! input parameter "${p}" is now required`);
    if (changes.inputSchemaChanged && changes.inputParamsAdded.length + changes.inputParamsRemoved.length + changes.inputParamsNewlyRequired.length === 0)
      lines.push('~ input schema changed (types, formats or constraints)');
    if (changes.outputSchemaChanged) lines.push('~ output schema changed');
    if (changes.titleChanged) lines.push('~ title changed');
    if (changes.descriptionChanged) {
      lines.push(texts ? '~ description changed (what the model reads):' : '~ description changed (what the model reads)');
      if (texts?.before !== undefined) lines.push(...texts.before.split('\n').map((l) => `    - ${l}`));
      if (texts?.after !== undefined) lines.push(...texts.after.split('\n').map((l) => `    + ${l}`));
    }
    for (const f of changes.otherFieldsChanged) lines.push(`~ field ${f} changed`);
  } else lines.push('  (the approved definition is not available: only permissions and hints compared)');
  if (changes.policyChanged) lines.push('~ policy changed');
  if (lines.length === 0) lines.push('  no visible change');
  return lines;
}
