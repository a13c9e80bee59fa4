import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, type RegistryApp } from './app.js';
import { resolveConfig, type RegistryConfigInput } from './config.js';
import type { Store } from './store/types.js';

export interface StartServerOptions {
  store: Store;
  config?: RegistryConfigInput;
  /** 127.0.0.1 by default: exposing the registry is a deliberate choice. */
  host?: string;
  /** 8080 by default; 0 picks a free port. */
  port?: number;
}

export interface RunningRegistry {
  app: RegistryApp;
  server: Server;
  url: string;
  /** Graceful shutdown: stop accepting, finish in-flight requests and writes, close the store. */
  close(): Promise<void>;
}

export async function startServer(options: StartServerOptions): Promise<RunningRegistry> {
  const config = resolveConfig(options.config);
  const app = await createApp({ store: options.store, config });
  const host = options.host ?? '127.0.0.1';
  // a public service's limits: slow-header and slow-body connections are closed (checked every
  // second rather than Node's 30 s), and beyond maxConnections new sockets are dropped at once
  // (each open one holds memory and a descriptor)
  const server = createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, config.headersTimeoutMs),
    },
    app,
  );
  server.maxConnections = config.maxConnections;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      app.registry.closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      await app.registry.ctx.queue.idle();
      app.registry.ctx.keys.stop();
      await options.store.close();
    })());
  return { app, server, url, close };
}
