/**
 * The registry as a separate process for the crash, load and scale scripts:
 * `node dist/reliability/serve-child.js --db <file> [--port 0] [--rate-limit]`.
 * Prints `READY <url>` on stdout once it listens. Same store and server as registry/server.ts;
 * request logs off (they would measure the terminal, not the registry).
 */
import { SqliteStore, startServer } from '@etdi/registry';
import { ADMIN_TOKEN, LOG_ORIGIN, ORIGIN } from './support/harness.js';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? undefined : args[i + 1];
};
const db = flag('db');
if (db === undefined) {
  process.stderr.write('usage: serve-child --db <file> [--port n] [--rate-limit]\n');
  process.exit(2);
}
const store = SqliteStore.open({ path: db });
const running = await startServer({
  store,
  port: Number(flag('port') ?? 0),
  config: {
    origin: ORIGIN,
    logOrigin: LOG_ORIGIN,
    adminToken: ADMIN_TOKEN,
    requestLog: false,
    // the default per-address bucket, or none: every load client shares 127.0.0.1
    ...(args.includes('--rate-limit') ? {} : { rateLimit: false as const }),
    errorLog: (line) => process.stderr.write(`${line}\n`),
  },
});
process.stdout.write(`READY ${running.url}\n`);
const stop = (): void => void running.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
