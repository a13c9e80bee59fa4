import { describe, expect, it } from 'vitest';
import { PolicyEngine, loadCedar, type InvocationRequest } from '../../client-verifier/policy/index.js';
import { readSetOf } from '../../client-verifier/policy/reads.js';
import { PERMIT_ALL, call } from './helpers.js';

async function readsOf(condition: string): Promise<ReturnType<typeof readSetOf>> {
  const cedar = await loadCedar();
  const json = cedar.policyToJson(`permit (principal, action, resource) when { ${condition} };`);
  if (json.type !== 'success') throw new Error(JSON.stringify(json.errors));
  return readSetOf(json.json);
}

const sorted = (s: Set<string>): string[] => [...s].sort();

describe('request projection (reads.ts)', () => {
  describe('when policies name attributes', () => {
    it.each([
      ['an argument', 'context.arguments.path like "/tmp/*"', { context: ['arguments'], arguments: ['path'] }],
      ['a nested argument', 'context.arguments.options.mode == 1', { context: ['arguments'], arguments: ['options'] }],
      ['has on an argument', 'context.arguments has secret', { context: ['arguments'], arguments: ['secret'] }],
      ['has on an argument path', 'context.arguments has options.mode', { context: ['arguments'], arguments: ['options'] }],
      ['has through context', 'context has arguments.size', { context: ['arguments'], arguments: ['size'] }],
      ['context attributes', 'context.now.hour < 17 && context.depth > 0 && context has caller', { context: ['caller', 'depth', 'now'], arguments: [] }],
      ['resource attributes', 'resource.version == "1.0.0" && resource has annotations', { context: [], arguments: [], resource: ['annotations', 'version'] }],
    ] as [string, string, { context: string[]; arguments: string[]; resource?: string[] }][])('reads only %s', async (_name, condition, expected) => {
      const r = await readsOf(condition);
      expect({ contextAll: r.contextAll, argumentsAll: r.argumentsAll, resourceAll: r.resourceAll }).toEqual({ contextAll: false, argumentsAll: false, resourceAll: false });
      expect(sorted(r.context)).toEqual(expected.context);
      expect(sorted(r.arguments)).toEqual(expected.arguments);
      expect(sorted(r.resource)).toEqual(expected.resource ?? []);
    });
  });

  describe('when policies use a part as a whole value', () => {
    it.each([
      ['context compared whole', 'context == {}', 'contextAll'],
      ['context through an if', '(if true then context else context).depth == 0', 'contextAll'],
      ['arguments compared whole', 'context.arguments == {"path": "/tmp"}', 'argumentsAll'],
      ['arguments through a record', '{"a": context.arguments}.a.path == "/tmp"', 'argumentsAll'],
      ['the resource through an if', '(if true then resource else resource).version == "1"', 'resourceAll'],
      ['an entity literal', 'Tool::"com.example.fs/read_file".version == "1"', 'resourceAll'],
    ] as const)('reads everything for %s', async (_name, condition, flag) => {
      expect((await readsOf(condition))[flag]).toBe(true);
    });
  });

  describe('when the engine projects requests', () => {
    // each policy against a few calls: projection on and off must decide the same, with the same ids
    const policies = [
      '@id("p") forbid (principal, action, resource) when { context.arguments has secret };',
      '@id("q") forbid (principal, action, resource) when { context.arguments has options.mode && context.arguments.options.mode == 511 };',
      '@id("r") forbid (principal, action, resource) when { context.arguments == {"path": "/etc/shadow"} };',
      '@id("s") forbid (principal, action, resource) when { {"a": context.arguments}.a has path && {"a": context.arguments}.a.path like "/root/*" };',
      '@id("t") forbid (principal, action, resource) when { (if context.depth > 0 then resource else resource).annotations has destructiveHint && (if context.depth > 0 then resource else resource).annotations.destructiveHint };',
      '@id("u") forbid (principal, action, resource) when { Tool::"com.example.fs/read_file" has permissions && Tool::"com.example.fs/read_file".permissions.contains("fs:read") && context has caller };',
      '@id("v") forbid (principal, action, resource) unless { context.arguments has path };',
    ];
    const calls: [string, InvocationRequest][] = [
      ['plain', call('read_file')],
      ['secret', call('read_file', { arguments: { path: '/tmp', secret: 'x' } })],
      ['null secret', call('read_file', { arguments: { path: '/tmp', secret: null } })],
      ['mode', call('read_file', { arguments: { path: '/tmp', options: { mode: 511 } } })],
      ['shadow', call('read_file', { arguments: { path: '/etc/shadow' } })],
      ['shadow plus', call('read_file', { arguments: { path: '/etc/shadow', n: 1 } })],
      ['root', call('read_file', { arguments: { path: '/root/.ssh/id_ed25519' } })],
      ['nested write', call('write_file', { callChain: ['com.example.agents/planner'] })],
      ['nested read', call('read_file', { callChain: ['com.example.agents/planner'] })],
      ['no path', call('read_file', { arguments: { file: '/tmp/x' } })],
    ];

    it.each(policies)('decides %s the same with and without projection', async (policy) => {
      const on = await PolicyEngine.create({ policies: [{ text: PERMIT_ALL }, { text: policy }] });
      const off = await PolicyEngine.create({ policies: [{ text: PERMIT_ALL }, { text: policy }], projectRequests: false });
      const viaTool = await PolicyEngine.create();
      for (const [, request] of calls) {
        const expected = off.authorize(request);
        expect(on.authorize(request)).toEqual(expected);
        const asTool = viaTool.authorize({ ...request, tool: { ...request.tool, policy: { language: 'cedar', policies: `${PERMIT_ALL}\n${policy}` } } });
        expect(asTool.allowed).toBe(expected.allowed);
      }
      // and the table is not vacuous: each policy denies at least one call and allows another
      const decisions = calls.map(([, r]) => off.authorize(r).allowed);
      expect(decisions).toContain(true);
      expect(decisions).toContain(false);
    });
  });
});
