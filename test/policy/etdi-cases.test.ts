import { describe, expect, it } from 'vitest';
import { PolicyEngine, validateToolPolicy } from '../../client-verifier/policy/index.js';
import { PERMIT_ALL, call } from './helpers.js';

/** The ETDI paper's policy examples (issue 8), each against Cedar's own engine. */
describe('PolicyEngine (ETDI examples)', () => {
  describe('when a tool is allowed only in a time window', () => {
    const hours =
      '@id("business-hours") permit (principal, action == Action::"invoke", resource) when { context.now.dayOfWeek >= 1 && context.now.dayOfWeek <= 5 && context.now.hour >= 9 && context.now.hour < 17 };';

    it.each([
      ['Wednesday 10:00 UTC', '2026-11-25T10:00:00Z', true],
      ['Wednesday 08:59 UTC', '2026-11-25T08:59:00Z', false],
      ['Wednesday 17:00 UTC', '2026-11-25T17:00:00Z', false],
      ['Saturday 10:00 UTC', '2026-11-28T10:00:00Z', false],
    ])('decides %s', async (_name, at, allowed) => {
      const engine = await PolicyEngine.create();
      const decision = engine.authorize(call('write_file', { policy: hours, now: new Date(at) }));
      expect(decision.allowed).toBe(allowed);
      expect(decision.policyIds).toEqual(allowed ? ['tool:business-hours'] : ['tool:(no-permit)']);
    });

    it('reads the hour in the host time zone', async () => {
      const engine = await PolicyEngine.create({ timeZone: 'Asia/Tokyo' }); // UTC+9, no DST
      // 01:30 UTC is 10:30 in Tokyo; 10:00 UTC is 19:00 there
      expect(engine.authorize(call('write_file', { policy: hours, now: new Date('2026-11-25T01:30:00Z') })).allowed).toBe(true);
      expect(engine.authorize(call('write_file', { policy: hours, now: new Date('2026-11-25T10:00:00Z') })).allowed).toBe(false);
    });
  });

  describe('when a tool may not receive data marked sensitive', () => {
    const host = [
      { id: 'base', text: PERMIT_ALL },
      {
        id: 'dlp',
        text: '@id("no-sensitive-data") forbid (principal, action, resource in Provider::"com.example.fs") when { context.dataLabels.contains("sensitive") || (context.arguments has classification && context.arguments.classification == "sensitive") };',
      },
    ];

    it.each([
      ['data the host labelled sensitive', { dataLabels: ['sensitive', 'pii'] }],
      ['an argument marked sensitive', { arguments: { path: '/tmp/x', content: 'salary list', classification: 'sensitive' } }],
    ])('denies %s, naming the forbid', async (_name, overrides) => {
      const engine = await PolicyEngine.create({ policies: host });
      const decision = engine.authorize(call('write_file', overrides));
      expect(decision).toMatchObject({ allowed: false, policyIds: ['host:no-sensitive-data'] });
      expect(decision.reasons).toEqual(['forbidden by host:no-sensitive-data']);
    });

    it('allows the same call with public data', async () => {
      const engine = await PolicyEngine.create({ policies: host });
      expect(engine.authorize(call('write_file', { dataLabels: ['public'] }))).toMatchObject({ allowed: true, policyIds: ['host:permit-all'] });
    });
  });

  describe('when a low-privilege tool calls a high-privilege one', () => {
    // a nested call may not need a permission that none of its callers was approved for (confused deputy)
    const host = [
      { id: 'base', text: PERMIT_ALL },
      { id: 'chain', text: '@id("no-privilege-escalation") forbid (principal, action, resource) when { context.depth > 0 && !context.callerPermissions.containsAll(context.requiredPermissions) };' },
    ];

    it.each([
      ['a read-only caller', { 'com.example.fs/read_file': ['fs:read'] }],
      ['a caller whose permissions the host does not know', undefined],
    ])('denies write_file called by %s', async (_name, callerPermissions) => {
      const engine = await PolicyEngine.create({ policies: host });
      const decision = engine.authorize(
        call('write_file', { callChain: ['com.example.fs/read_file'], ...(callerPermissions ? { callerPermissions } : {}) }),
      );
      expect(decision).toMatchObject({ allowed: false, policyIds: ['host:no-privilege-escalation'] });
    });

    it('allows it from a caller approved for writing, and allows the direct call', async () => {
      const engine = await PolicyEngine.create({ policies: host });
      const nested = call('write_file', { callChain: ['com.example.fs/move_file'], callerPermissions: { 'com.example.fs/move_file': ['fs:read', 'fs:write'] } });
      expect(engine.authorize(nested).allowed).toBe(true);
      expect(engine.authorize(call('write_file')).allowed).toBe(true);
    });

    it('denies it through a host call-chain rule too (blocked caller anywhere upstream)', async () => {
      const engine = await PolicyEngine.create({ callChain: { rules: [{ tool: 'com.example.fs/write_*', blockedCallers: ['com.example.web/*'] }] } });
      const laundered = call('write_file', { callChain: ['com.example.web/fetch', 'com.example.fs/read_file'] });
      expect(engine.authorize(laundered)).toMatchObject({ allowed: false, policyIds: ['call-chain:blocked-caller'] });
    });
  });

  describe('when the call chain is circular', () => {
    it.each([
      ['the tool calls itself through another', ['com.example.fs/write_file', 'com.example.fs/read_file']],
      ['the tool calls itself', ['com.example.fs/write_file']],
      ['the chain already loops', ['com.example.fs/read_file', 'com.example.fs/list_directory', 'com.example.fs/read_file']],
    ])('denies it when %s', async (_name, callChain) => {
      const engine = await PolicyEngine.create();
      const decision = engine.authorize(call('write_file', { callChain }));
      expect(decision.allowed).toBe(false);
      expect(decision.policyIds).toContain('call-chain:circular');
      expect(decision.reasons.join()).toMatch(/circular call chain: .* -> com\.example\.fs\/write_file/);
    });

    it('exposes it to Cedar as context.circular (for a host that allows cycles natively)', async () => {
      const engine = await PolicyEngine.create({
        callChain: { denyCircular: false },
        policies: [{ text: PERMIT_ALL }, { text: '@id("no-loops") forbid (principal, action, resource) when { context.circular };' }],
      });
      expect(engine.authorize(call('write_file', { callChain: ['com.example.fs/write_file'] }))).toMatchObject({ allowed: false, policyIds: ['host:no-loops'] });
    });
  });

  describe('when the call chain is too deep', () => {
    const chain = (n: number): string[] => Array.from({ length: n }, (_, i) => `com.example.agents/step${i}`);

    it.each([
      ['the configured depth', 2, 3, false],
      ['exactly the configured depth', 2, 2, true],
      ['the default depth (8)', undefined, 9, false],
    ])('decides a chain beyond %s', async (_name, maxDepth, length, allowed) => {
      const engine = await PolicyEngine.create(maxDepth === undefined ? {} : { callChain: { maxDepth } });
      const decision = engine.authorize(call('read_file', { callChain: chain(length) }));
      expect(decision.allowed).toBe(allowed);
      if (!allowed) {
        expect(decision.policyIds).toEqual(['call-chain:max-depth']);
        expect(decision.reasons[0]).toMatch(new RegExp(`call depth ${length} exceeds the maximum of ${maxDepth ?? 8}`));
      }
    });

    it('gives Cedar the depth as context.depth', async () => {
      const engine = await PolicyEngine.create({ policies: [{ text: '@id("shallow") permit (principal, action, resource) when { context.depth <= 1 };' }] });
      expect(engine.authorize(call('read_file', { callChain: chain(1) })).allowed).toBe(true);
      expect(engine.authorize(call('read_file', { callChain: chain(2) })).policyIds).toEqual(['host:(no-permit)']);
    });
  });

  describe('when the rate limit is exceeded', () => {
    it('denies the call past the limit in that session only, and allows again once the window slides', async () => {
      const engine = await PolicyEngine.create({ rateLimits: [{ id: 'writes', tool: 'com.example.fs/write_*', maxCalls: 3, windowSeconds: 60 }] });
      const at = (s: number): Date => new Date(Date.parse('2026-11-25T10:00:00Z') + s * 1000);
      for (const s of [0, 10, 20]) expect(engine.authorize(call('write_file', { now: at(s) })).allowed).toBe(true);
      const fourth = engine.authorize(call('write_file', { now: at(30) }));
      expect(fourth).toMatchObject({ allowed: false, policyIds: ['rate-limit:writes'] });
      expect(fourth.reasons[0]).toMatch(/3 calls to com\.example\.fs\/write_file in session session-1 within 60 s/);
      expect(engine.authorize(call('write_file', { now: at(30), session: { id: 'session-2' } })).allowed).toBe(true);
      expect(engine.authorize(call('read_file', { now: at(30) })).allowed).toBe(true); // another tool
      expect(engine.authorize(call('write_file', { now: at(59.999) })).allowed).toBe(false);
      // the window is (now - 60 s, now]: the call at 0 s has left it at 60 s
      expect(engine.authorize(call('write_file', { now: at(60) })).allowed).toBe(true);
    });

    it('does not count denied calls', async () => {
      const engine = await PolicyEngine.create({ rateLimits: [{ tool: '*', maxCalls: 1, windowSeconds: 60 }] });
      const unapproved = call('write_file', { tool: { approvedPermissions: ['fs:read'] } });
      expect(engine.authorize(unapproved).allowed).toBe(false);
      expect(engine.authorize(call('write_file')).allowed).toBe(true);
      expect(engine.authorize(call('write_file')).policyIds).toEqual(['rate-limit:0']);
    });
  });

  describe('when the call needs a permission the user did not approve', () => {
    it.each([
      ['by default (all declared permissions)', {}, 'pin:unapproved-permission', /"fs:write", which the user did not approve/],
      ['when the call names it', { requiredPermissions: ['fs:write'] }, 'pin:unapproved-permission', /"fs:write"/],
      ['when the tool does not even declare it', { requiredPermissions: ['admin'] }, 'pin:undeclared-permission', /"admin", which com\.example\.fs\/write_file@1\.2\.0 does not declare/],
    ])('denies it %s', async (_name, overrides, id, reason) => {
      const engine = await PolicyEngine.create({ policies: [{ text: PERMIT_ALL }] });
      const decision = engine.authorize(call('write_file', { ...overrides, tool: { approvedPermissions: ['fs:read'] } }));
      expect(decision).toMatchObject({ allowed: false, policyIds: [id] });
      expect(decision.reasons.join()).toMatch(reason);
    });

    it('allows a call that needs only approved permissions', async () => {
      const engine = await PolicyEngine.create({ policies: [{ text: PERMIT_ALL }] });
      expect(engine.authorize(call('write_file', { requiredPermissions: ['fs:read'], tool: { approvedPermissions: ['fs:read'] } })).allowed).toBe(true);
    });
  });

  describe('when a policy is invalid', () => {
    const invalid = 'permit (principal, action, resource) when { context.depth < };';

    it('is refused by validateToolPolicy with diagnostics', async () => {
      const result = await validateToolPolicy({ language: 'cedar', policies: invalid });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.diagnostics[0]!.message).toMatch(/unexpected token `}` \(at 1:/);
    });

    it('denies every call to a tool whose manifest carries it anyway', async () => {
      const engine = await PolicyEngine.create();
      const decision = engine.authorize(call('read_file', { policy: invalid }));
      expect(decision).toMatchObject({ allowed: false, policyIds: ['tool:(invalid)'] });
      expect(decision.reasons[0]).toMatch(/does not parse: unexpected token/);
    });
  });
});
