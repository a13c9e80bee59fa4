import express, { type ErrorRequestHandler, type Express, type RequestHandler, type Response } from 'express';
import { resolveConfig, type RegistryConfig, type RegistryConfigInput } from './config.js';
import { RegistryError, toRegistryError } from './errors.js';
import { sendProblem } from './http/problem.js';
import { rateLimit, TokenBucketLimiter } from './http/rate-limit.js';
import { requestLog } from './http/request-log.js';
import { buildOpenApi } from './openapi.js';
import { createLogRouter } from './routes/log.js';
import { namespacesRouter } from './routes/namespaces.js';
import { DECLARATIONS_PATH, PUBLISH_PATH, declarationsHandler, publishHandler } from './routes/publish.js';
import type { Services } from './routes/services.js';
import { RECORD_PATH, recordHandler, toolsRouter } from './routes/tools.js';
import { authenticate } from './services/auth.js';
import type { RegistryContext } from './services/context.js';
import { ReadService } from './services/reads.js';
import { RegistrySigningKeys } from './services/signing-keys.js';
import { OutboundFetchGate } from './services/well-known.js';
import { WriteQueue, writeWorkerUrl } from './services/write-queue.js';
import { TransparencyLog } from './log/transparency-log.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/types.js';
import type { Readiness } from '@etdi/schemas';
import { createWebRouter } from './web/index.js';

export interface CreateAppOptions {
  /** A SQLite (SqliteStore.open) or PostgreSQL (openStore) store; the app never closes it. */
  store: Store;
  config?: RegistryConfigInput | RegistryConfig;
  /** Milliseconds since the epoch (tests move time). */
  now?: () => number;
}

/** The Express app with the registry's services attached (tests and the server use them). */
export interface RegistryApp extends Express {
  readonly registry: {
    ctx: RegistryContext;
    reads: ReadService;
    /** Set by the server on shutdown: new requests get 503 SHUTTING_DOWN. */
    closing: boolean;
  };
}

/** The write worker publishes commit on (config.writeWorker), or undefined for the event loop. */
function writeWorkerFor(store: Store, config: RegistryConfig): URL | undefined {
  if (config.writeWorker === 'off') return undefined;
  // PostgreSQL commits in its own processes: the event loop only waits on a socket
  if (!(store instanceof SqliteStore)) {
    if (config.writeWorker === 'auto') return undefined;
    throw new RangeError('config.writeWorker: only a SQLite store has a write worker');
  }
  // a second connection to ':memory:' would be another, empty database
  const file = store.path !== ':memory:' && store.path !== '';
  if (config.writeWorker === 'auto') return file ? writeWorkerUrl() : undefined;
  if (!file) throw new RangeError('config.writeWorker: an in-memory store has no second connection to write on');
  return config.writeWorker;
}

/**
 * GET /readyz: can this registry serve writes now? Its database answers a read, its log's newest
 * checkpoint reads back, and its publish writer is up (not shutting down either).
 */
async function readinessOf(store: Store, log: TransparencyLog, queue: WriteQueue, closing: boolean): Promise<Readiness> {
  const check = async (probe: () => Promise<unknown>): Promise<'ok' | 'failed'> => {
    try {
      await probe();
      return 'ok';
    } catch {
      return 'failed';
    }
  };
  const database = await check(() => store.registryKeys('jwt'));
  const logState = await check(() => log.latestCheckpoint());
  const writer = queue.writerHealth();
  const ready = !closing && database === 'ok' && logState === 'ok' && writer.state === 'ok';
  return { status: ready ? 'ready' : 'unready', checks: { database, log: logState, writer: writer.state }, writerRestarts: writer.restarts };
}

/**
 * Builds the registry's Express app without listening (supertest and registry/server.ts use it):
 * opens the log kept in the store (its signing key and first checkpoint on a new database) and
 * the registry's signing keys.
 */
export async function createApp(options: CreateAppOptions): Promise<RegistryApp> {
  const config = resolveConfig(options.config);
  const now = options.now ?? Date.now;
  const store = options.store;
  const log = await TransparencyLog.open(store, { origin: config.logOrigin });
  const keys = await RegistrySigningKeys.open(store, config, () => Math.floor(now() / 1000));
  // other processes on the same database rotate and revoke keys too (services/signing-keys.ts)
  if (store.kind === 'postgres') keys.refreshEvery(config.registryKeyRefreshSeconds);
  const ctx = {} as RegistryContext;
  Object.assign(ctx, {
    store,
    log,
    config,
    now,
    keys,
    queue: new WriteQueue(store, log, {
      now,
      workerUrl: writeWorkerFor(store, config),
      maxWorkerRestartsPerMinute: config.writeWorkerRestartsPerMinute,
    }),
    outbound: new OutboundFetchGate(config.wellKnown),
    invalidate: () => reads.invalidate(),
  });
  const reads = new ReadService(ctx);
  const limiter = config.rateLimit === false ? undefined : new TokenBucketLimiter(config.rateLimit, now);
  const services: Services = { ctx, reads, limiter, authenticate: (req) => authenticate(ctx, req.headers.authorization) };

  const app = express() as unknown as RegistryApp;
  Object.defineProperty(app, 'registry', { value: { ctx, reads, closing: false }, enumerable: false });
  app.disable('x-powered-by');
  app.set('etag', false); // records carry their own strong ETag; nothing else is cached by ETag
  app.set('query parser', 'simple');

  // probes first: a load balancer polling them is neither logged nor rate-limited
  app.get('/healthz', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end('{"status":"ok"}');
  });
  app.get('/readyz', async (_req, res) => {
    const readiness = await readinessOf(store, log, ctx.queue, app.registry.closing);
    res
      .writeHead(readiness.status === 'ready' ? 200 : 503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
      .end(JSON.stringify(readiness));
  });

  // every request's middlewares, in order
  const middlewares: RequestHandler[] = [];
  if (config.requestLog !== false) middlewares.push(requestLog(config.requestLog));
  middlewares.push((_req, res, next) => {
    if (app.registry.closing) {
      res.setHeader('Connection', 'close');
      return sendProblem(res, new RegistryError('SHUTTING_DOWN', 'the registry is shutting down', { headers: { 'Retry-After': '1' } }));
    }
    next();
  });
  if (limiter !== undefined) middlewares.push(rateLimit(limiter));
  for (const mw of middlewares) app.use(mw);

  // the hot read and the publish first, on the app itself (no nested-router dispatch)
  app.get(RECORD_PATH, recordHandler(services));
  app.post(PUBLISH_PATH, publishHandler(services));
  app.post(DECLARATIONS_PATH, declarationsHandler(services));
  app.use(toolsRouter(services));
  app.use(namespacesRouter(services));
  app.use('/v1/log', createLogRouter(log));
  const openapi = JSON.stringify(buildOpenApi(config.origin));
  app.get('/openapi.json', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(openapi), 'Cache-Control': 'public, max-age=300' }).end(openapi);
  });

  // the web interface for reviewers (registry/web/): pages at / and /ui/, after the API
  app.use(createWebRouter(services, { assetsDir: config.webAssetsDir }));

  app.use((req, res) => sendProblem(res, new RegistryError('NOT_FOUND', `no route for ${req.method} ${req.path}`)));
  const answerError = (error: any, method: string, path: string, res: Response): void => {
    const known = toRegistryError(error);
    if (known !== undefined) return sendProblem(res, known);
    // express's own body/URI errors carry a 4xx status
    const status = typeof error?.status === 'number' ? error.status : 500;
    if (status >= 400 && status < 500) return sendProblem(res, new RegistryError('BAD_REQUEST', 'the request is malformed'));
    // unknown: log it with its stack, answer with nothing an attacker can use
    config.errorLog(JSON.stringify({ t: new Date().toISOString(), level: 'error', method, path, error: String(error?.stack ?? error) }));
    sendProblem(res, new RegistryError('INTERNAL', 'internal error'));
  };
  const onError: ErrorRequestHandler = (error, req, res, _next) => answerError(error, req.method, req.path, res);
  app.use(onError);

  return app;
}
