import { Router } from 'express';
import { REGISTRY_METADATA_PATH, type RegistryMetadata } from '@etdi/schemas';
import { RegistryError } from '../errors.js';
import { readJsonBody } from '../http/body.js';
import { clientOf } from '../http/rate-limit.js';
import { issuePublisherToken, requireAdmin } from '../services/auth.js';
import { addKey, getNamespaceInfo, listNamespaceKeys, registerNamespace, revokeKey } from '../services/namespaces.js';
import type { Services } from './services.js';
import { sendJson } from './tools.js';

export function namespacesRouter(services: Services): Router {
  const { ctx } = services;
  const router = Router();
  const body = (req: Parameters<typeof readJsonBody>[0]): Promise<unknown> => readJsonBody(req, ctx.config.maxBodyBytes);

  router.post('/v1/namespaces', async (req, res) => {
    const principal = await services.authenticate(req);
    const info = await registerNamespace(ctx, principal, await body(req), clientOf(req));
    res.setHeader('Location', `/v1/namespaces/${info.namespace}`);
    sendJson(res, 201, info);
  });

  router.get('/v1/namespaces/:namespace', async (req, res) => {
    sendJson(res, 200, await getNamespaceInfo(ctx, req.params.namespace), 'public, max-age=5');
  });

  router.get('/v1/namespaces/:namespace/keys', async (req, res) => {
    // short-lived: a key revocation must reach verifiers quickly
    sendJson(res, 200, await listNamespaceKeys(ctx, req.params.namespace), 'public, max-age=30');
  });

  router.post('/v1/namespaces/:namespace/keys', async (req, res) => {
    const principal = await services.authenticate(req);
    sendJson(res, 201, await addKey(ctx, principal, req.params.namespace, await body(req)));
  });

  router.post('/v1/namespaces/:namespace/keys/:keyId/revoke', async (req, res) => {
    const principal = await services.authenticate(req);
    sendJson(res, 200, await revokeKey(ctx, principal, req.params.namespace, req.params.keyId, await body(req)));
  });

  router.post('/v1/tokens', async (req, res) => {
    sendJson(res, 201, await issuePublisherToken(ctx, await body(req)));
  });

  router.get('/.well-known/jwks.json', (_req, res) => {
    sendJson(res, 200, ctx.keys.jwks(), 'public, max-age=300');
  });

  // What a host pins (etdi trust init, fetchTrust): small and fixed, so the issuer never has to be
  // guessed from another document.
  router.get(REGISTRY_METADATA_PATH, (_req, res) => {
    const log = ctx.log;
    const metadata: RegistryMetadata = {
      issuer: ctx.config.origin,
      audience: ctx.config.attestationAudience,
      jwksUri: `${ctx.config.origin}/.well-known/jwks.json`,
      log: { origin: log.origin, verifierKey: log.verifierKey() },
    };
    sendJson(res, 200, metadata, 'public, max-age=300');
  });

  router.post('/v1/admin/registry-keys/rotate', async (req, res) => {
    requireAdmin(await services.authenticate(req));
    const rotated = await ctx.keys.rotate(ctx.queue);
    services.reads.invalidate();
    sendJson(res, 200, rotated);
  });

  // emergency: a compromised registry key leaves the JWKS and verifies nothing from now on
  router.post('/v1/admin/registry-keys/:kid/revoke', async (req, res) => {
    requireAdmin(await services.authenticate(req));
    const revoked = await ctx.keys.revoke(ctx.queue, req.params.kid);
    if (revoked === undefined)
      throw new RegistryError('KEY_NOT_FOUND', `${req.params.kid} is not a registry key, or it is already revoked`);
    services.reads.invalidate();
    sendJson(res, 200, revoked);
  });

  return router;
}
