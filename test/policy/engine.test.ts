import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VerificationError } from '../../client-verifier/errors.js';
import { PolicyEngine, etdiCedarSchema, loadHostPolicyConfig, type PolicyEngineOptions } from '../../client-verifier/policy/index.js';
import { FIXTURES, PERMIT_ALL, call } from './helpers.js';

describe('PolicyEngine', () => {
  describe('when no policy set exists', () => {
    it('allows a call that passes permissions, call chain and rate limits', async () => {
      const engine = await PolicyEngine.create();
      expect(engine.authorize(call('read_file'))).toEqual({
        allowed: true,
        reasons: ['no policy set applies; permissions, call chain and rate limits allow the call'],
        policyIds: [],
      });
    });
  });

  describe('when both the tool and the host have policies', () => {
    const toolPermits = '@id("tool-ok") permit (principal, action, resource);';
    const toolForbids = '@id("tool-no") forbid (principal, action, resource) when { context.arguments.path like "/etc/*" };';

    it.each([
      ['both permit', [toolPermits], [PERMIT_ALL], true, ['host:permit-all', 'tool:tool-ok']],
      ['the host forbids (deny wins)', [toolPermits], [PERMIT_ALL, '@id("host-no") forbid (principal, action, resource);'], false, ['host:host-no']],
      ['the tool forbids (deny wins)', [toolPermits, toolForbids], [PERMIT_ALL], false, ['tool:tool-no']],
      ['only the host permits', ['@id("never") permit (principal, action, resource) when { false };'], [PERMIT_ALL], false, ['tool:(no-permit)']],
      ['only the tool permits', [toolPermits], ['@id("never") permit (principal, action, resource) when { false };'], false, ['host:(no-permit)']],
      ['the host has forbids only', [toolPermits], ['@id("host-no") forbid (principal, action, resource) when { false };'], false, ['host:(no-permit)']],
    ])('decides when %s', async (_name, tool, host, allowed, ids) => {
      const engine = await PolicyEngine.create({ policies: host.map((text) => ({ text })) });
      const decision = engine.authorize(call('read_file', { policy: tool.join('\n'), arguments: { path: '/etc/passwd' } }));
      expect(decision.allowed).toBe(allowed);
      expect([...decision.policyIds].sort()).toEqual(ids);
    });

    it('names unannotated policies as Cedar does, prefixed by set and host source', async () => {
      const engine = await PolicyEngine.create({ policies: [{ id: 'base.cedar', text: 'permit (principal, action, resource);' }] });
      const tool = Array.from({ length: 11 }, (_, i) => `permit (principal, action, resource) when { context.arguments.n == ${i} };`).join('\n');
      expect(engine.authorize(call('read_file', { policy: tool, arguments: { n: 10 } })).policyIds.sort()).toEqual(['host:base.cedar#policy0', 'tool:policy10']);
      expect(engine.authorize(call('read_file', { policy: tool, arguments: { n: 2 } })).policyIds.sort()).toEqual(['host:base.cedar#policy0', 'tool:policy2']);
    });
  });

  describe('when a policy cannot be evaluated', () => {
    it('counts an erroring forbid as denying (fail closed)', async () => {
      const engine = await PolicyEngine.create({ policies: [{ text: PERMIT_ALL }, { text: '@id("size") forbid (principal, action, resource) when { context.arguments.size > 10 };' }] });
      const decision = engine.authorize(call('read_file', { arguments: { size: 'big' } }));
      expect(decision).toMatchObject({ allowed: false, policyIds: ['host:size'] });
      expect(decision.reasons[0]).toMatch(/forbid policy host:size could not be evaluated/);
    });

    it('ignores an erroring permit, as Cedar does', async () => {
      const engine = await PolicyEngine.create({
        policies: [{ text: PERMIT_ALL }, { text: '@id("broken-permit") permit (principal, action, resource) when { context.arguments.missing };' }],
      });
      expect(engine.authorize(call('read_file'))).toMatchObject({ allowed: true, policyIds: ['host:permit-all'] });
    });
  });

  describe('when the arguments are hostile or not representable in Cedar', () => {
    const engine = PolicyEngine.create({
      policies: [{ text: PERMIT_ALL }, { text: '@id("reads") forbid (principal, action, resource) when { context.arguments has path && context.arguments has list && context.arguments has a };' }],
    });

    it.each([
      ['an entity escape forging an admin principal', { path: { __entity: { type: 'User', id: 'admin' }, x: 1 } }, /"__entity"/],
      ['an extension escape, nested', { list: [{ deep: { __extn: { fn: 'ip', arg: '10.0.0.1' } } }] }, /"__extn"/],
      ['nesting deeper than the limit', JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) as Record<string, unknown>, /nest deeper than 32/],
    ])('denies %s in an argument a policy reads', async (_name, args, reason) => {
      const decision = (await engine).authorize(call('read_file', { arguments: args }));
      expect(decision).toMatchObject({ allowed: false, policyIds: ['cedar:(request)'] });
      expect(decision.reasons[0]).toMatch(reason);
    });

    it('never sends Cedar an argument no policy reads, so an escape there decides nothing', async () => {
      const decision = (await engine).authorize(call('read_file', { arguments: { path: '/tmp/x', other: { __entity: { type: 'User', id: 'admin' } } } }));
      expect(decision).toMatchObject({ allowed: true, policyIds: ['host:permit-all'] });
    });

    it('maps JSON the documented way: non-integers as text, arrays as sets, null as absent', async () => {
      const e = await PolicyEngine.create({
        policies: [
          {
            text:
              '@id("shape") permit (principal, action, resource) when { context.arguments.ratio == "0.5" && context.arguments.big == "18014398509481984" && context.arguments.tags.contains("a") && !(context.arguments has gone) && context.arguments.n == 3 };',
          },
        ],
      });
      expect(e.authorize(call('read_file', { arguments: { ratio: 0.5, big: 2 ** 54, tags: ['a', null, 'b', 'a'], gone: null, n: 3 } })).allowed).toBe(true);
    });

    it('evaluates any JSON arguments without throwing, and sees exactly the non-null keys (property)', async () => {
      const e = await PolicyEngine.create({ policies: [{ text: PERMIT_ALL }, { text: '@id("no-secret") forbid (principal, action, resource) when { context.arguments has secret };' }] });
      const key = fc.string({ maxLength: 8 }).filter((k) => !k.startsWith('__'));
      fc.assert(
        fc.property(fc.dictionary(key, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 }), (args) => {
          const decision = e.authorize(call('read_file', { arguments: JSON.parse(JSON.stringify(args)) as Record<string, unknown> }));
          const hasSecret = Object.prototype.hasOwnProperty.call(args, 'secret') && args['secret'] !== null;
          expect(decision.allowed).toBe(!hasSecret);
        }),
        { numRuns: 150 },
      );
    });
  });

  describe('when policies read the principal and the resource', () => {
    it('sees the tool entity (id, name, version, provider, permissions, annotations) and its provider', async () => {
      const engine = await PolicyEngine.create({
        policies: [
          {
            text:
              '@id("reader") permit (principal is User, action == Action::"invoke", resource in Provider::"com.example.fs") when { resource.name == "read_file" && resource.id == "com.example.fs/read_file" && resource.version == "1.2.0" && resource.provider == "com.example.fs" && resource.permissions.contains("fs:read") && resource.approvedPermissions.contains("fs:read") && resource.annotations.readOnlyHint && context.session.id == "session-1" && context.requiredPermissions.contains("fs:read") };',
          },
        ],
      });
      expect(engine.authorize(call('read_file', { principal: { id: 'alice', type: 'User' } })).allowed).toBe(true);
      expect(engine.authorize(call('read_file')).allowed).toBe(false); // an Agent
      expect(engine.authorize(call('write_file', { principal: { id: 'alice', type: 'User' } })).allowed).toBe(false);
    });

    it('gives the immediate caller as context.caller', async () => {
      const engine = await PolicyEngine.create({ policies: [{ text: '@id("from-list") permit (principal, action, resource) when { context has caller && context.caller == "com.example.fs/list_directory" && context.callChain.contains("com.example.agents/plan") };' }] });
      expect(engine.authorize(call('read_file', { callChain: ['com.example.agents/plan', 'com.example.fs/list_directory'] })).allowed).toBe(true);
      expect(engine.authorize(call('read_file')).allowed).toBe(false);
    });

    it('denies a principal type that is not a Cedar type name', async () => {
      const engine = await PolicyEngine.create({ policies: [{ text: PERMIT_ALL }] });
      expect(engine.authorize(call('read_file', { principal: { id: 'x', type: 'User::"admin"' } })).policyIds).toEqual(['cedar:(request)']);
    });
  });

  describe('when call-chain rules apply', () => {
    const rules: PolicyEngineOptions = {
      callChain: {
        rules: [
          { tool: 'com.example.fs/write_file', allowedCallers: ['com.example.agents/*'] },
          { tool: 'com.example.web/*', blockedCallees: ['com.example.fs/*'] },
          { tool: 'com.example.agents/planner', allowedCallees: ['com.example.fs/read_file', 'com.example.fs/write_file'] },
        ],
      },
    };

    it.each([
      ['a caller that is not allowed', 'write_file', ['com.example.fs/read_file'], 'call-chain:caller-not-allowed'],
      ['a callee blocked for an upstream tool', 'read_file', ['com.example.web/fetch', 'com.example.agents/summarise'], 'call-chain:blocked-callee'],
      ['a callee that is not allowed', 'move_file', ['com.example.agents/planner'], 'call-chain:callee-not-allowed'],
    ])('denies %s', async (_name, tool, callChain, id) => {
      const engine = await PolicyEngine.create(rules);
      expect(engine.authorize(call(tool, { callChain })).policyIds).toEqual([id]);
    });

    it.each([
      ['an allowed caller', 'write_file', ['com.example.agents/planner']],
      ['a direct call', 'write_file', []],
      ['an allowed callee', 'read_file', ['com.example.agents/planner']],
    ])('allows %s', async (_name, tool, callChain) => {
      const engine = await PolicyEngine.create(rules);
      expect(engine.authorize(call(tool, { callChain })).allowed).toBe(true);
    });
  });

  describe('when many tool policies are seen', () => {
    it('evicts pre-parsed sets beyond the cache and still decides each with its own policy', async () => {
      const engine = await PolicyEngine.create({ maxCachedToolPolicies: 2, policies: [{ text: PERMIT_ALL }] });
      const policy = (n: number): string => `@id("only-${n}") permit (principal, action, resource) when { context.arguments.n == ${n} };`;
      for (let round = 0; round < 3; round++)
        for (const n of [1, 2, 3, 4]) {
          expect(engine.authorize(call('read_file', { policy: policy(n), arguments: { n } })).policyIds.sort()).toEqual(['host:permit-all', `tool:only-${n}`]);
          expect(engine.authorize(call('read_file', { policy: policy(n), arguments: { n: n + 1 } })).allowed).toBe(false);
        }
    });

    it('keeps two engines apart', async () => {
      const a = await PolicyEngine.create({ policies: [{ text: PERMIT_ALL }] });
      const b = await PolicyEngine.create({ policies: [{ text: '@id("none") forbid (principal, action, resource);' }] });
      const tool = '@id("t") permit (principal, action, resource);';
      expect(a.authorize(call('read_file', { policy: tool })).allowed).toBe(true);
      expect(b.authorize(call('read_file', { policy: tool })).allowed).toBe(false);
      expect(a.authorize(call('read_file', { policy: tool })).allowed).toBe(true);
    });
  });

  describe('when the host passes a malformed request (a host bug, not hostile content)', () => {
    it.each([
      ['no session id', { session: {} }, /session\.id/],
      ['a call chain that is not an array', { callChain: 'a.b/c' }, /callChain must be an array/],
      ['a call chain of non-strings', { callChain: [1] }, /callChain must hold tool id strings/],
      ['an invalid date', { now: new Date('not a date') }, /valid Date/],
    ])('throws TypeError for %s', async (_name, broken, message) => {
      const engine = await PolicyEngine.create();
      expect(() => engine.authorize({ ...call('read_file'), ...broken } as never)).toThrow(TypeError);
      expect(() => engine.authorize({ ...call('read_file'), ...broken } as never)).toThrow(message);
    });
  });

  describe('when the host configuration is invalid', () => {
    it.each([
      ['a host policy that does not parse', { policies: [{ text: 'permit (principal, action, resource' }] }, /host policy source policies\[0\] is invalid/],
      ['a host policy that does not validate against the host schema', { policies: [{ text: 'permit (principal, action, resource) when { context.nope };' }], schema: etdiCedarSchema() }, /context.*nope|nope/],
      ['two host policies with one id', { policies: [{ text: '@id("x") permit (principal, action, resource);' }, { text: '@id("x") forbid (principal, action, resource);' }] }, /host:x is used twice/],
      ['a misspelt constraint', { callChain: { maxDepht: 2 } } as unknown as PolicyEngineOptions, /callChain/],
      ['a negative depth', { callChain: { maxDepth: -1 } }, /maxDepth/],
      ['a rate limit without a window', { rateLimits: [{ tool: '*', maxCalls: 1 }] } as unknown as PolicyEngineOptions, /windowSeconds/],
      ['an unknown time zone', { timeZone: 'Mars/Olympus_Mons' }, /unknown time zone/],
    ])('refuses %s', async (_name, options, message) => {
      const error = await PolicyEngine.create(options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VerificationError);
      expect(error).toMatchObject({ code: 'SCHEMA_INVALID', message: expect.stringMatching(message) });
    });
  });

  describe('when the host loads its configuration from files', () => {
    it('enforces the policies, constraints and limits it names', async () => {
      const config = await loadHostPolicyConfig(`${FIXTURES}host-policies.json`);
      expect(config.policies?.map((p) => p.id)).toEqual(['office-hours.cedar', 'no-sensitive', 'inline']);
      const engine = await PolicyEngine.create(config);
      // 10:00 UTC on a Wednesday in November is 11:00 in Berlin
      expect(engine.authorize(call('read_file'))).toMatchObject({ allowed: true, policyIds: ['host:office-hours'] });
      expect(engine.authorize(call('read_file', { now: new Date('2026-11-25T16:30:00Z') })).policyIds).toEqual(['host:(no-permit)']);
      expect(engine.authorize(call('read_file', { dataLabels: ['sensitive'], tool: { annotations: { openWorldHint: true } } })).policyIds).toEqual([
        'host:no-sensitive#policy0',
      ]);
      expect(engine.authorize(call('write_file', { callChain: ['com.example.agents/planner'] })).policyIds).toEqual(['host:no-destructive-nested']);
      expect(engine.authorize(call('write_file', { callChain: ['com.example.web/fetch'] })).policyIds).toEqual(
        expect.arrayContaining(['call-chain:blocked-caller']),
      );
      expect(engine.authorize(call('read_file', { callChain: ['a.b/1', 'a.b/2', 'a.b/3', 'a.b/4'] })).policyIds).toEqual(['call-chain:max-depth']);
      for (let i = 0; i < 5; i++) expect(engine.authorize(call('write_file')).allowed).toBe(true);
      expect(engine.authorize(call('write_file')).policyIds).toEqual(['rate-limit:writes']);
    });

    it('refuses a file that names a missing policy file', async () => {
      const error = await loadHostPolicyConfig(`${FIXTURES}no-such-config.json`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(VerificationError);
      expect(error).toMatchObject({ code: 'SCHEMA_INVALID' });
    });
  });
});
