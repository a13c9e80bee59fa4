import { Router, type Request, type RequestHandler, type Response } from 'express';
import { RegistryError, toRegistryError } from '../errors.js';
import { LogError } from '../log/errors.js';
import type { Services } from '../routes/services.js';
import { loadAsset, textAsset, WEB_BUNDLE, type StaticAsset } from './assets.js';
import { html } from './html.js';
import { ASSET_PATH, page } from './layout.js';
import { comparePage } from './pages/compare.js';
import { homePage } from './pages/home.js';
import { lockfilePage } from './pages/lockfile.js';
import { logPage } from './pages/log.js';
import { namespacePage } from './pages/namespace.js';
import { toolPage } from './pages/tool.js';
import { versionPage } from './pages/version.js';
import { WebReads } from './reads.js';
import { STYLE_CSS } from './style.js';

/**
 * Sent with every page: no inline script or style, scripts and requests only to this origin,
 * no plugins, no framing, and DOM sinks that take strings refused (Trusted Types): provider text
 * that slipped through escaping could still not run.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

function sendPage(res: Response, status: number, text: string): void {
  res
    .writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache' })
    .end(text);
}

function sendAsset(req: Request, res: Response, asset: StaticAsset, type: string): void {
  if (req.headers['if-none-match'] === asset.etag) return void res.writeHead(304, { ETag: asset.etag }).end();
  const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const body = gzip ? asset.gzip : asset.body;
  res
    .writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': type,
      'Content-Length': body.length,
      ETag: asset.etag,
      'Cache-Control': 'no-cache',
      Vary: 'Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    })
    .end(body);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A non-negative integer query parameter, or undefined when absent or empty; 400 otherwise. */
function intQuery(req: Request, name: string): number | undefined {
  const raw = req.query[name];
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new RegistryError('BAD_REQUEST', `${name} must be a non-negative integer`);
  return Number(raw);
}

export interface WebRouterOptions {
  /** The directory holding the bundled browser script (web.js). */
  assetsDir: string;
}

/**
 * The web interface for reviewers, served by the registry: server-rendered pages that work without
 * JavaScript, and one bundled script where the browser checks things itself (browser/).
 */
export function createWebRouter(services: Services, options: WebRouterOptions): Router {
  const { ctx, reads } = services;
  const web = new WebReads(ctx, reads);
  const trust = { issuer: ctx.config.origin, audience: ctx.config.attestationAudience };
  const router = Router();
  const style = textAsset(STYLE_CSS);
  const scripts = new Map<string, StaticAsset>();
  const toolId = (req: Request): string => `${String(req.params.namespace)}/${String(req.params.name)}`;

  // Errors become an HTML page with the same status and stable code as the API's problem documents.
  const route =
    (fn: (req: Request, res: Response) => Promise<void>): RequestHandler =>
    async (req, res) => {
      try {
        await fn(req, res);
      } catch (error) {
        // a bad proof request is the log's 4xx; a log integrity failure stays the app's opaque 500
        const known = error instanceof LogError && error.status < 500 ? new RegistryError('BAD_REQUEST', error.message) : toRegistryError(error);
        if (known === undefined) throw error; // the app's handler logs it and answers 500
        sendPage(res, known.status, page({ title: `Error ${known.status}` }, html`<h1>${known.status}: <code>${known.code}</code></h1><p>${known.message}</p><p><a href="/">Back to the search</a></p>`));
      }
    };

  router.get(`${ASSET_PATH}/style.css`, (req, res) => sendAsset(req, res, style, 'text/css; charset=utf-8'));
  // web.js and the chunks it imports: names esbuild gave them, nothing else from that directory
  router.get(`${ASSET_PATH}/:file`, (req, res, next) => {
    const name = String(req.params.file);
    if (name !== WEB_BUNDLE && !/^chunk-[A-Z0-9]{8}\.js$/.test(name)) return next();
    let script = scripts.get(name);
    if (script === undefined) {
      script = loadAsset(options.assetsDir, name);
      if (script === undefined) throw new RegistryError('NOT_FOUND', `${name}: the browser script is not built (run \`npm run build\`)`);
      scripts.set(name, script);
    }
    sendAsset(req, res, script, 'text/javascript; charset=utf-8');
  });

  router.get(
    '/',
    route(async (req, res) => {
      const q = str(req.query.q);
      const cursor = str(req.query.cursor);
      if (q !== undefined && q.length > 128) throw new RegistryError('BAD_REQUEST', 'the search text must be at most 128 characters');
      const results = q !== undefined || cursor !== undefined ? await web.search(q, cursor) : await web.search(undefined, undefined, 50);
      sendPage(res, 200, homePage(await web.home(), q, results));
    }),
  );

  router.get(
    '/ui/tools/:namespace/:name',
    route(async (req, res) => {
      const id = toolId(req);
      sendPage(res, 200, toolPage(await web.tool(id), await web.versions(id), await web.version(id, 'latest')));
    }),
  );

  router.get(
    '/ui/tools/:namespace/:name/versions/:version',
    route(async (req, res) => sendPage(res, 200, versionPage(await web.version(toolId(req), String(req.params.version)), trust))),
  );

  router.get(
    '/ui/tools/:namespace/:name/compare',
    route(async (req, res) => {
      const id = toolId(req);
      const from = str(req.query.from);
      const to = str(req.query.to);
      if (from === undefined || to === undefined) throw new RegistryError('BAD_REQUEST', 'give the two versions to compare: ?from=<version>&to=<version>');
      sendPage(res, 200, comparePage(await web.version(id, from), await web.version(id, to)));
    }),
  );

  router.get(
    '/ui/namespaces/:namespace',
    route(async (req, res) => {
      const { info, keys, tools } = await web.namespace(String(req.params.namespace));
      sendPage(res, 200, namespacePage(info, keys, tools));
    }),
  );

  router.get(
    '/ui/log',
    route(async (req, res) => {
      const log = ctx.log;
      const pageSize = 25;
      const data = await web.log(intQuery(req, 'start'), pageSize);
      const size = data.checkpoint.size;
      const inclusion = intQuery(req, 'inclusion');
      const from = intQuery(req, 'from');
      const to = intQuery(req, 'to') ?? size;
      if (inclusion !== undefined && inclusion >= size) throw new RegistryError('BAD_REQUEST', `entry ${inclusion} is not in the tree of size ${size}`);
      if (from !== undefined && (from > to || to > size)) throw new RegistryError('BAD_REQUEST', `a consistency check needs 0 <= from <= to <= ${size}`);
      sendPage(
        res,
        200,
        logPage({
          ...data,
          pageSize,
          verifierKey: log.verifierKey(),
          ...(inclusion === undefined ? {} : { inclusion: { index: inclusion, treeSize: size, hashes: await log.inclusionProof(inclusion, size) } }),
          ...(from === undefined ? {} : { consistency: { from, to, hashes: await log.consistencyProof(from, to), fromRoot: await log.rootHash(from), toRoot: await log.rootHash(to) } }),
        }),
      );
    }),
  );

  router.get(
    '/ui/lockfile',
    route(async (_req, res) => sendPage(res, 200, lockfilePage(trust))),
  );

  return router;
}
