/**
 * CI-sized hostile-input fuzzer (issue 9): fast-check requests to every write endpoint through
 * supertest against createApp on a real SQLite file. The full run (>= 100,000 requests) is
 * `npm run reliability:fuzz`. ETDI_FUZZ_RUNS / ETDI_FUZZ_SEED override the size and seed here.
 */
import type { Server } from 'node:http';
import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRequest, recipeArb, setupWorld, type FuzzRequest, type FuzzResponse, type FuzzWorld } from '../../reliability/support/fuzz-cases.js';
import { isRefusal } from '../../reliability/support/fuzz-runner.js';
import { startHarness, type Harness } from '../../reliability/support/harness.js';
import { stateDigest, type StateDigest } from '../../reliability/support/state-digest.js';

const RUNS = Number(process.env.ETDI_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.ETDI_FUZZ_SEED ?? 20250609);

let h: Harness;
let world: FuzzWorld;
let before: StateDigest;

/** supertest against the listening app: the exact bytes, headers and method of the request. */
function supertestSend(server: Server): (r: FuzzRequest) => Promise<FuzzResponse> {
  return async (r) => {
    let test = r.method === 'GET' ? request(server).get(r.path) : request(server).post(r.path);
    for (const [name, value] of Object.entries(r.headers)) test = test.set(name, value);
    // the bytes go out as they are: an identity serializer stops superagent from JSON-encoding the Buffer
    const res = r.body === undefined ? await test : await test.serialize((b: unknown) => b as string).send(r.body);
    return { status: res.status, body: res.body !== undefined && Object.keys(res.body as object).length > 0 ? res.body : res.text };
  };
}

const digest = (): Promise<StateDigest> => stateDigest(h.store, h.log);

beforeAll(async () => {
  h = await startHarness();
  const send = supertestSend(h.running.server);
  world = await setupWorld(send, { origin: h.running.app.registry.ctx.config.origin, adminToken: h.running.app.registry.ctx.config.adminToken!, now: Date.now, registryKey: h.running.app.registry.ctx.keys.current() });
  before = await digest();
}, 30_000);

afterAll(async () => {
  await h?.close();
});

describe('hostile input', () => {
  describe('when a named attack reaches a write endpoint', () => {
    // one row per attack: endpoint/fault, variant, the status and code the registry must answer with
    it.each([
      ['publish/auth alg none', 'publish', 'auth', 0, 401, 'UNAUTHENTICATED'],
      ['publish/auth HS256 keyed with the registry public key', 'publish', 'auth', 1, 401, 'UNAUTHENTICATED'],
      ['publish/auth expired token', 'publish', 'auth', 2, 401, 'TOKEN_EXPIRED'],
      ['publish/auth token of a revoked key', 'publish', 'auth', 7, 401, 'UNAUTHENTICATED'],
      ['publish/auth token of another namespace', 'publish', 'auth', 8, 403, 'NAMESPACE_MISMATCH'],
      ['publish/duplicate key', 'publish', 'duplicateKey', 0, 400, 'DUPLICATE_KEY'],
      ['publish/lone surrogate', 'publish', 'loneSurrogate', 0, 400, 'INVALID_JSON'],
      ['publish/number beyond I-JSON', 'publish', 'bigNumber', 0, 400, 'INVALID_JSON'],
      ['publish/invalid UTF-8', 'publish', 'invalidUtf8', 0, 400, 'INVALID_JSON'],
      ['publish/same version, other content', 'publish', 'semantic', 0, 409, 'VERSION_EXISTS'],
      ['publish/rollback to a lower version', 'publish', 'semantic', 1, 409, 'VERSION_NOT_HIGHER'],
      ['publish/signed by a revoked key', 'publish', 'semantic', 2, 403, 'KEY_REVOKED'],
      ['publish/changed after signing', 'publish', 'semantic', 10, 422, 'BAD_SIGNATURE'],
      ['register/TR39 look-alike namespace', 'register', 'semantic', 0, 409, 'NAMESPACE_LOOKALIKE'],
      ['register/replayed statement (the namespace it registered exists)', 'register', 'semantic', 1, 409, 'NAMESPACE_EXISTS'],
      ['keyAdd/replayed statement', 'keyAdd', 'semantic', 0, 409, 'STATEMENT_REPLAYED'],
      ['publish/path traversal in the tool name', 'publish', 'semantic', 8, 422, 'SCHEMA_INVALID'],
      ['publish/tool id of another tool', 'publish', 'semantic', 9, 422, 'SCHEMA_INVALID'],
      ['token/replayed statement', 'token', 'semantic', 0, 409, 'STATEMENT_REPLAYED'],
      ['token/statement for another registry', 'token', 'semantic', 2, 422, 'WRONG_REGISTRY'],
      ['keyAdd/authorised by a revoked key', 'keyAdd', 'semantic', 3, 403, 'KEY_REVOKED'],
      ['keyRevoke/another namespace', 'keyRevoke', 'semantic', 2, 403, 'FORBIDDEN'],
      ['versionRevoke/already revoked', 'versionRevoke', 'semantic', 1, 409, 'VERSION_ALREADY_REVOKED'],
    ] as const)('%s is refused', async (_name, endpoint, fault, variant, status, code) => {
      const r = await buildRequest(world, { endpoint, fault, pick: 0, variant, value: 1, bytes: new Uint8Array(), size: 2000, text: '' });
      const res = await supertestSend(h.running.server)(r);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect((res.body as { code?: string }).code).toBe(code);
    });
  });

  describe(`when fast-check sends ${RUNS} malformed or adversarial requests to every write endpoint`, () => {
    it('refuses each with a 4xx problem document, logs no internal error, and changes nothing', async () => {
      const send = supertestSend(h.running.server);
      await fc.assert(
        fc.asyncProperty(recipeArb, async (recipe) => {
          const r = await buildRequest(world, recipe);
          const res = await send(r);
          if (!isRefusal(res.status)) throw new Error(`${r.label} ${r.path}: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        }),
        { numRuns: RUNS, seed: SEED },
      );
      expect(h.errors).toEqual([]);
      expect(await digest()).toEqual(before);
    }, 120_000);
  });
});
