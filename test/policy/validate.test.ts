import { describe, expect, it } from 'vitest';
import { etdiCedarSchema, validateToolPolicy } from '../../client-verifier/policy/index.js';
import type { ToolPolicy } from '../../schemas/index.js';

const schema = etdiCedarSchema({ type: 'Record', attributes: { path: { type: 'String' } } });

describe('validateToolPolicy', () => {
  describe('when the policy parses (and validates against its schema)', () => {
    it.each([
      ['a single permit', { language: 'cedar', policies: 'permit (principal, action, resource);' }],
      [
        'a time window over the ETDI schema',
        {
          language: 'cedar',
          policies:
            '@id("hours") permit (principal is Agent, action == Action::"invoke", resource) when { context.now.hour >= 9 && context.now.hour < 17 };\n' +
            '@id("tmp-only") forbid (principal, action, resource) unless { context.arguments.path like "/tmp/*" };',
          schema,
        },
      ],
      [
        'annotations, call chain and labels',
        {
          language: 'cedar',
          policies:
            'permit (principal, action, resource in Provider::"com.example.fs") when { resource.annotations has readOnlyHint && resource.annotations.readOnlyHint && context.depth < 3 && !context.dataLabels.contains("sensitive") && !context.circular };',
          schema,
        },
      ],
    ] as [string, ToolPolicy][])('accepts %s', async (_name, policy) => {
      await expect(validateToolPolicy(policy)).resolves.toEqual({ ok: true });
    });
  });

  describe('when the policy is invalid', () => {
    it.each([
      ['a syntax error', { language: 'cedar', policies: 'permit (principal, action, resource)\nwhen { context.depth < 3 ;' }, /unexpected token `;` \(at 2:/],
      ['an unknown variable', { language: 'cedar', policies: 'permit (principal, action, resource) when { x };' }, /invalid variable: x/],
      ['a template (never linked)', { language: 'cedar', policies: 'permit (principal == ?principal, action, resource);' }, /templates are not supported/],
      ['no policy at all', { language: 'cedar', policies: '// nothing here\n' }, /contains no policy/],
      [
        'two policies with one id',
        { language: 'cedar', policies: '@id("a") permit (principal, action, resource);\n@id("a") forbid (principal, action, resource);' },
        /two policies have the id "a"/,
      ],
      [
        'an attribute the schema does not declare',
        { language: 'cedar', policies: 'permit (principal, action, resource) when { context.arguments.command == "rm" };', schema },
        /attribute `arguments.command` in context/,
      ],
      ['a type error against the schema', { language: 'cedar', policies: 'permit (principal, action, resource) when { context.depth < "3" };', schema }, /expected Long but saw String/],
      ['an action the schema does not know', { language: 'cedar', policies: 'permit (principal, action == Action::"delete", resource);', schema }, /Action::"delete"/],
      ['a schema that does not parse', { language: 'cedar', policies: 'permit (principal, action, resource);', schema: { '': { entityTypes: 3 } } }, /^schema: /],
      ['another policy language', { language: 'rego', policies: 'allow := true' } as unknown as ToolPolicy, /language/],
      ['an empty text', { language: 'cedar', policies: '' }, /policies/],
    ] as [string, ToolPolicy, RegExp][])('refuses %s, with diagnostics', async (_name, policy, message) => {
      const result = await validateToolPolicy(policy);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.diagnostics.length).toBeGreaterThan(0);
      expect(result.diagnostics.map((d) => d.message).join('\n')).toMatch(message);
    });

    it('names the policy a validation error is about', async () => {
      const result = await validateToolPolicy({
        language: 'cedar',
        policies: '@id("good") permit (principal, action, resource);\n@id("bad") forbid (principal, action, resource) when { context.nope };',
        schema,
      });
      expect(result).toMatchObject({ ok: false, diagnostics: [{ policyId: 'bad' }] });
    });
  });
});
