import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ToolPolicy } from '../../schemas/index.js';
import type { InvocationRequest } from '../../client-verifier/policy/index.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/policy/', import.meta.url));

interface RealTool {
  name: string;
  annotations?: Record<string, unknown>;
}

const realTools = JSON.parse(readFileSync(`${FIXTURES}filesystem-tools.json`, 'utf8')) as RealTool[];

/** Permissions the test provider declares for each real filesystem tool. */
const PERMISSIONS: Record<string, string[]> = {
  read_file: ['fs:read'],
  list_directory: ['fs:read'],
  write_file: ['fs:read', 'fs:write'],
  move_file: ['fs:read', 'fs:write'],
};

/** A request for one real tool of server-filesystem, as provider com.example.fs, all permissions approved. */
export function call(
  name: string,
  overrides: Partial<Omit<InvocationRequest, 'tool'>> & { tool?: Partial<InvocationRequest['tool']>; policy?: string } = {},
): InvocationRequest {
  const real = realTools.find((t) => t.name === name);
  if (real === undefined) throw new Error(`no real tool ${name}`);
  const permissions = PERMISSIONS[name] ?? ['fs:read'];
  const { tool, policy, ...rest } = overrides;
  const toolPolicy: ToolPolicy | undefined = policy === undefined ? undefined : { language: 'cedar', policies: policy };
  return {
    principal: { id: 'agent-1' },
    arguments: { path: '/tmp/notes.txt' },
    session: { id: 'session-1' },
    callChain: [],
    now: WEDNESDAY_10_UTC,
    ...rest,
    tool: {
      toolId: `com.example.fs/${name}`,
      version: '1.2.0',
      provider: 'com.example.fs',
      permissions,
      approvedPermissions: permissions,
      ...(real.annotations === undefined ? {} : { annotations: real.annotations }),
      ...(toolPolicy === undefined ? {} : { policy: toolPolicy }),
      ...tool,
    },
  };
}

export const WEDNESDAY_10_UTC = new Date('2026-11-25T10:00:00Z');

export const PERMIT_ALL = '@id("permit-all") permit (principal, action, resource);';
