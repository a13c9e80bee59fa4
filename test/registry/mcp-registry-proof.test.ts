import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, generateKeyPair, mcpRegistryProof, mcpRegistryRecord, registrationRequest, toBase64, type GeneratedKeyPair } from '../../protocol/index.js';
import { resolveConfig } from '../../registry/index.js';
import { startDnsTxtServer, type DnsTxtServer } from '../support/dns-txt-server.js';
import { auditTail, harness, ORIGIN, snapshot, type Harness } from './helpers.js';

// Domain control the official MCP Registry's way (docs/REST-API.md, "MCP Registry proofs"): a
// real HTTP server on 127.0.0.1 serves /.well-known/mcp-registry-auth for each domain (the
// registry's development override points the domain there), a real DNS server on 127.0.0.1 UDP
// answers TXT questions, and every proof is signed with a real Ed25519 key.

/** One loopback HTTP server per domain: its mcp-registry-auth text, or 404 when unset. */
interface AuthFile {
  server: Server;
  host: string;
  text: string | undefined;
}

async function serveAuthFile(): Promise<AuthFile> {
  const file: AuthFile = { server: createServer(), host: '', text: undefined };
  file.server.on('request', (req, res) => {
    if (req.url !== '/.well-known/mcp-registry-auth' || file.text === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(file.text);
  });
  await new Promise<void>((r) => file.server.listen(0, '127.0.0.1', r));
  file.host = `127.0.0.1:${(file.server.address() as AddressInfo).port}`;
  return file;
}

const HTTP_DOMAINS = ['example.com', 'hooli.com', 'globex.com', 'umbrella.com'] as const;

describe('namespace registration with an MCP Registry proof', () => {
  let h: Harness;
  let bare: Harness;
  let dns: DnsTxtServer;
  const files = new Map<string, AuthFile>();
  const file = (domain: (typeof HTTP_DOMAINS)[number]): AuthFile => files.get(domain)!;

  beforeAll(async () => {
    dns = await startDnsTxtServer();
    for (const domain of HTTP_DOMAINS) files.set(domain, await serveAuthFile());
    h = await harness({
      wellKnown: { allowHttpLoopback: true, hostOverrides: Object.fromEntries([...files].map(([d, f]) => [d, f.host])) },
      dnsProofServers: [dns.address],
      dnsProofTimeoutMs: 2_000,
      // small, so that an oversized answer still fits one UDP datagram of the test server
      dnsProofMaxBytes: 512,
    });
    bare = await harness({ dnsProofServers: [] });
  });
  afterAll(async () => {
    await h.close();
    await bare.close();
    await dns.close();
    for (const f of files.values()) await new Promise((r) => f.server.close(r));
  });

  /** A registration of `namespace` by `key`, with the official proof for `domain` (signed by `signer`, at `at`). */
  async function body(
    target: Harness,
    namespace: string,
    key: GeneratedKeyPair,
    method: 'http' | 'dns',
    domain: string,
    options: { signer?: GeneratedKeyPair; at?: number } = {},
  ): Promise<Record<string, unknown>> {
    const registration = await registrationRequest(key.privateJwk, { registry: ORIGIN, namespace, issuedAt: new Date(target.clock.now).toISOString() }, 'well-known');
    const proof = await mcpRegistryProof((options.signer ?? key).privateJwk, method, domain, new Date(options.at ?? target.clock.now));
    return { ...registration, mcpRegistryProof: proof };
  }

  const post = (target: Harness, payload: Record<string, unknown>): request.Test => request(target.app).post('/v1/namespaces').send(payload);

  describe('when the domain publishes the key', () => {
    it('registers over HTTP: the record at /.well-known/mcp-registry-auth names the registration key', async () => {
      const key = generateKeyPair();
      file('example.com').text = `${mcpRegistryRecord(key.publicJwk)}\n`;
      const before = await snapshot(h);
      const res = await post(h, await body(h, 'com.example', key, 'http', 'example.com'));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body).toMatchObject({ namespace: 'com.example', verification: 'well-known', activeKeys: 1 });
      expect((await snapshot(h)).logSize).toBe(before.logSize + 1);
      expect((await auditTail(h, 1))[0]!.event).toMatchObject({ kind: 'namespace.registered', namespace: 'com.example', keyId: key.keyId, proof: 'mcp-registry-http' });
    });

    it('registers in DNS: a TXT record of the domain itself names the key, among other records', async () => {
      const key = generateKeyPair();
      dns.zone.set('initech.com', [['v=spf1 -all'], [mcpRegistryRecord(key.publicJwk)]]);
      const res = await post(h, await body(h, 'com.initech', key, 'dns', 'initech.com'));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect((await auditTail(h, 1))[0]!.event).toMatchObject({ namespace: 'com.initech', proof: 'mcp-registry-dns' });
      expect(dns.asked).toContain('initech.com');
    });

    it('registers a subdomain namespace in DNS: the zone speaks for its subdomains (com.example.*)', async () => {
      const key = generateKeyPair();
      dns.zone.set('initrode.com', [['v=MCPv1; k=ed25519; p=', toBase64(fromBase64Url(key.publicJwk.x))]]); // a record split in two strings
      const res = await post(h, await body(h, 'com.initrode.tools', key, 'dns', 'initrode.com'));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    });
  });

  describe('when the registration is refused', () => {
    const attacker = generateKeyPair();
    const cases: [string, () => Promise<{ target?: Harness; payload: Record<string, unknown> }>, number, string][] = [
      ['HTTP record naming another key (wrong key)', async () => {
        file('hooli.com').text = mcpRegistryRecord(generateKeyPair().publicJwk);
        return { payload: await body(h, 'com.hooli', attacker, 'http', 'hooli.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['DNS record naming another key (wrong key)', async () => {
        dns.zone.set('victim.com', [[mcpRegistryRecord(generateKeyPair().publicJwk)]]);
        return { payload: await body(h, 'com.victim', attacker, 'dns', 'victim.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['timestamp signed by a key other than the registration key', async () => {
        const key = generateKeyPair();
        dns.zone.set('victim.com', [[mcpRegistryRecord(key.publicJwk)]]);
        return { payload: await body(h, 'com.victim', key, 'dns', 'victim.com', { signer: attacker }) };
      }, 422, 'BAD_PROOF'],
      ['stale timestamp (signed 20 s ago, a replayed login)', async () => {
        const key = generateKeyPair();
        dns.zone.set('victim.com', [[mcpRegistryRecord(key.publicJwk)]]);
        return { payload: await body(h, 'com.victim', key, 'dns', 'victim.com', { at: h.clock.now - 20_000 }) };
      }, 422, 'STATEMENT_STALE'],
      ['timestamp from the future (20 s ahead)', async () => {
        const key = generateKeyPair();
        dns.zone.set('victim.com', [[mcpRegistryRecord(key.publicJwk)]]);
        return { payload: await body(h, 'com.victim', key, 'dns', 'victim.com', { at: h.clock.now + 20_000 }) };
      }, 422, 'STATEMENT_STALE'],
      ["proof for the attacker's own domain, sent for the victim's namespace", async () => {
        dns.zone.set('attacker.com', [[mcpRegistryRecord(attacker.publicJwk)]]);
        return { payload: await body(h, 'com.victim', attacker, 'dns', 'attacker.com') };
      }, 403, 'NAMESPACE_MISMATCH'],
      ['DNS proof of victim.com for com.victimx (a name that only starts like it, not one under it)', async () => {
        dns.zone.set('victim.com', [[mcpRegistryRecord(attacker.publicJwk)]]);
        return { payload: await body(h, 'com.victimx', attacker, 'dns', 'victim.com') };
      }, 403, 'NAMESPACE_MISMATCH'],
      ['HTTP proof of a parent domain for a subdomain namespace (HTTP does not speak for subdomains)', async () => {
        file('globex.com').text = mcpRegistryRecord(attacker.publicJwk);
        return { payload: await body(h, 'com.globex.api', attacker, 'http', 'globex.com') };
      }, 403, 'NAMESPACE_MISMATCH'],
      ['TXT record with another version tag (v=MCPv2)', async () => {
        const key = generateKeyPair();
        dns.zone.set('victim.com', [[mcpRegistryRecord(key.publicJwk).replace('MCPv1', 'MCPv2')]]);
        return { payload: await body(h, 'com.victim', key, 'dns', 'victim.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['TXT record of another algorithm (k=ecdsap384: not an etdi key)', async () => {
        dns.zone.set('victim.com', [[`v=MCPv1; k=ecdsap384; p=${toBase64(new Uint8Array(49).fill(2))}`]]);
        return { payload: await body(h, 'com.victim', generateKeyPair(), 'dns', 'victim.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['no TXT record at all (NXDOMAIN)', async () => ({ payload: await body(h, 'com.nowhere', generateKeyPair(), 'dns', 'nowhere.com') }), 403, 'DOMAIN_NOT_VERIFIED'],
      ['TXT records, none of them MCP (only SPF)', async () => {
        dns.zone.set('victim.com', [['v=spf1 include:_spf.example.net -all']]);
        return { payload: await body(h, 'com.victim', generateKeyPair(), 'dns', 'victim.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['the record under a selector, not on the domain itself', async () => {
        const key = generateKeyPair();
        dns.zone.delete('victim.com');
        dns.zone.set('_mcp-auth.victim.com', [[mcpRegistryRecord(key.publicJwk)]]);
        return { payload: await body(h, 'com.victim', key, 'dns', 'victim.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['oversized TXT answer (beyond dnsProofMaxBytes)', async () => {
        const key = generateKeyPair();
        dns.zone.set('victim.com', [[mcpRegistryRecord(key.publicJwk)], ['x'.repeat(250), 'y'.repeat(250)]]);
        return { payload: await body(h, 'com.victim', key, 'dns', 'victim.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['garbled TXT record (the key is not base64 of 32 bytes)', async () => {
        const key = generateKeyPair();
        dns.zone.set('victim.com', [[mcpRegistryRecord(key.publicJwk).replace(/p=.{4}/, 'p=!!!!')], [`v=MCPv1; k=ed25519; p=${toBase64(new Uint8Array(31))}`]]);
        return { payload: await body(h, 'com.victim', key, 'dns', 'victim.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['garbage for a DNS answer (a broken or hostile server)', async () => {
        const key = generateKeyPair();
        dns.garbage.add('broken.com');
        return { payload: await body(h, 'com.broken', key, 'dns', 'broken.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['DNS proof at a registry with no resolver configured', async () => {
        const key = generateKeyPair();
        dns.zone.set('victim.com', [[mcpRegistryRecord(key.publicJwk)]]);
        return { target: bare, payload: await body(bare, 'com.victim', key, 'dns', 'victim.com') };
      }, 501, 'DNS_PROOF_NOT_CONFIGURED'],
      ['HTTP record missing (404)', async () => {
        file('umbrella.com').text = undefined;
        return { payload: await body(h, 'com.umbrella', generateKeyPair(), 'http', 'umbrella.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['HTTP record larger than the official 4096 bytes', async () => {
        const key = generateKeyPair();
        file('umbrella.com').text = `${mcpRegistryRecord(key.publicJwk)}\n${'#'.repeat(5000)}`;
        return { payload: await body(h, 'com.umbrella', key, 'http', 'umbrella.com') };
      }, 403, 'DOMAIN_NOT_VERIFIED'],
      ['the proof with an admin grant (it proves a domain, not an administrator)', async () => {
        const key = generateKeyPair();
        return { payload: { ...(await body(h, 'com.umbrella', key, 'http', 'umbrella.com')), verification: 'admin-grant' } };
      }, 422, 'SCHEMA_INVALID'],
      ['signed_timestamp in base64, not hex', async () => {
        const payload = await body(h, 'com.umbrella', generateKeyPair(), 'http', 'umbrella.com');
        const proof = payload.mcpRegistryProof as { signed_timestamp: string };
        return { payload: { ...payload, mcpRegistryProof: { ...proof, signed_timestamp: Buffer.from(proof.signed_timestamp, 'hex').toString('base64') } } };
      }, 422, 'SCHEMA_INVALID'],
    ];

    it.each(cases)('refuses %s, store and log unchanged', async (_attack, make, status, code) => {
      const { target = h, payload } = await make();
      const before = await snapshot(target);
      const res = await post(target, payload);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe(code);
      expect(await snapshot(target)).toEqual(before);
    });

    it('names the record to publish, where, and the admin grant, in a DOMAIN_NOT_VERIFIED refusal', async () => {
      const key = generateKeyPair();
      dns.zone.set('victim.com', [['v=spf1 -all']]);
      const res = await post(h, await body(h, 'com.victim', key, 'dns', 'victim.com'));
      const expected = mcpRegistryRecord(key.publicJwk);
      expect(res.body).toMatchObject({ code: 'DOMAIN_NOT_VERIFIED', dnsName: 'victim.com', expected });
      expect(res.body.detail).toContain(`publish a TXT record on victim.com`);
      expect(res.body.detail).toContain(expected);
      expect(res.body.detail).toMatch(/administrator token \(admin grant\)/);
    });
  });

  describe('when the operator configures DNS proofs', () => {
    it.each([
      ['a host name for a DNS server (it would itself need resolving)', { dnsProofServers: ['dns.example'] }],
      ['a zero timeout', { dnsProofServers: ['1.1.1.1'], dnsProofTimeoutMs: 0 }],
    ])('refuses %s at start (RangeError), never at the first registration', (_case, config) => {
      expect(() => resolveConfig(config)).toThrow(RangeError);
    });

    it('is off by default: no DNS server is asked', () => {
      expect(resolveConfig({}).dnsProofServers).toEqual([]);
    });
  });
});
