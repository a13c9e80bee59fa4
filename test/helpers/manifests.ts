import { generateKeyPair, signManifest, type GeneratedKeyPair } from '../../protocol/index.js';
import { MANIFEST_TYPE, type SignedManifest, type ToolDefinition, type ToolManifest } from '../../schemas/index.js';
import { readFixture } from './fixtures.js';

/** Real tool definitions, exactly as the reference MCP servers sent them. */
export function realTools(server: 'filesystem' | 'everything' | 'memory' | 'sequential-thinking'): ToolDefinition[] {
  return JSON.parse(readFixture(`real-tools/${server}.json`)) as ToolDefinition[];
}

export function manifestFor(
  definition: ToolDefinition,
  overrides: Partial<Omit<ToolManifest, 'type' | 'definition'>> = {},
): ToolManifest {
  const provider = overrides.provider ?? 'io.github.modelcontextprotocol';
  return {
    type: MANIFEST_TYPE,
    toolId: `${provider}/${definition.name}`,
    version: '1.0.0',
    provider,
    definition,
    permissions: ['files:read'],
    issuedAt: '2026-11-25T00:00:00Z',
    ...overrides,
  };
}

export async function signedFixture(
  definition: ToolDefinition,
  key: GeneratedKeyPair = generateKeyPair(),
  overrides: Partial<Omit<ToolManifest, 'type' | 'definition'>> = {},
): Promise<{ signed: SignedManifest; key: GeneratedKeyPair }> {
  return { signed: await signManifest(manifestFor(definition, overrides), [key.privateJwk]), key };
}
