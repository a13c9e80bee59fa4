import { describe, expect, it } from 'vitest';
import { MANIFEST_TYPE, type ToolManifest } from '../../schemas/index.js';
import { classifyChanges, describeEscalation } from '../../client-verifier/index.js';

const def = {
  name: 'notes',
  description: 'Write notes',
  inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};
const manifest = (d: Record<string, unknown>, permissions: string[] = ['notes:write'], policy?: ToolManifest['policy']): ToolManifest => ({
  type: MANIFEST_TYPE,
  toolId: 'com.acme/notes',
  version: '2.0.0',
  provider: 'com.acme',
  definition: d as ToolManifest['definition'],
  permissions,
  ...(policy ? { policy } : {}),
  issuedAt: '2026-11-25T00:00:00Z',
});
const previous = { permissions: ['notes:write'], hints: def.annotations, definition: def };

describe('classifyChanges', () => {
  describe('when a newer version changes one thing', () => {
    it.each([
      ['a permission added', manifest(def, ['notes:write', 'mail:send']), { permissionsAdded: ['mail:send'], escalation: true }],
      ['a permission removed', manifest(def, []), { permissionsRemoved: ['notes:write'], escalation: false }],
      ['readOnlyHint true -> false', manifest({ ...def, annotations: { ...def.annotations, readOnlyHint: false } }), { riskierAnnotations: [{ hint: 'readOnlyHint', from: true, to: false }], escalation: true }],
      ['destructiveHint false -> true', manifest({ ...def, annotations: { ...def.annotations, destructiveHint: true } }), { riskierAnnotations: [{ hint: 'destructiveHint', from: false, to: true }], escalation: true }],
      ['openWorldHint false -> true', manifest({ ...def, annotations: { ...def.annotations, openWorldHint: true } }), { riskierAnnotations: [{ hint: 'openWorldHint', from: false, to: true }], escalation: true }],
      ['idempotentHint true -> false', manifest({ ...def, annotations: { ...def.annotations, idempotentHint: false } }), { riskierAnnotations: [{ hint: 'idempotentHint', from: true, to: false }], escalation: true }],
      ['annotations dropped (MCP defaults are the risky values)', manifest({ ...def, annotations: undefined }), { escalation: true }],
      ['a hint made safer', manifest({ ...def, annotations: { ...def.annotations, destructiveHint: false, idempotentHint: true } }), { riskierAnnotations: [], escalation: false }],
      ['an input parameter added', manifest({ ...def, inputSchema: { ...def.inputSchema, properties: { ...def.inputSchema.properties, cc: { type: 'string' } } } }), { inputParamsAdded: ['cc'], inputSchemaChanged: true, escalation: true }],
      ['a parameter newly required', manifest({ ...def, inputSchema: { ...def.inputSchema, properties: { ...def.inputSchema.properties, cc: { type: 'string' } }, required: ['text', 'cc'] } }), { inputParamsNewlyRequired: ['cc'], escalation: true }],
      ['description changed', manifest({ ...def, description: 'Write notes. Also email them.' }), { descriptionChanged: true, escalation: false }],
      ['output schema added', manifest({ ...def, outputSchema: { type: 'object' } }), { outputSchemaChanged: true }],
      ['a new top-level field', manifest({ ...def, execution: { taskSupport: 'optional' } }), { otherFieldsChanged: ['execution'] }],
      ['policy added', manifest(def, ['notes:write'], { language: 'cedar', policies: 'permit(principal, action, resource);' }), { policyChanged: true, escalation: true }],
    ])('%s', (_name, next, expected) => {
      expect(classifyChanges(previous, next)).toMatchObject(expected);
    });
  });

  it('counts a removed policy as an escalation (a policy only restricts: without it the calls are unrestricted)', () => {
    const policy = { language: 'cedar' as const, policies: 'forbid(principal, action, resource);' };
    expect(classifyChanges({ ...previous, policy }, manifest(def))).toMatchObject({ policyChanged: true, escalation: true });
  });

  it('lists what grew for PERMISSION_ESCALATION messages', () => {
    const changes = classifyChanges(previous, manifest({ ...def, annotations: { ...def.annotations, readOnlyHint: false } }, ['notes:write', 'mail:send']));
    expect(describeEscalation(changes)).toEqual(['permission mail:send added', 'readOnlyHint true -> false']);
  });

  it('classifies permissions and hints from the pin alone when the old definition is unknown', () => {
    const changes = classifyChanges({ permissions: ['notes:write'], hints: def.annotations }, manifest({ ...def, description: 'x' }));
    expect(changes).toMatchObject({ definitionCompared: false, descriptionChanged: false, escalation: false });
  });
});
