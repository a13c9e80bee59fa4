/**
 * `npm run reliability:fuzz` (after `npm run build`): the full hostile-input run, >= 100,000
 * fast-check requests to every write endpoint of a registry listening on 127.0.0.1 (real HTTP,
 * real SQLite file). Flags: --count 100000 --seed 1 --concurrency 16. Passes when every answer is
 * a 4xx, the registry logged no internal error, and every table and the log root are unchanged.
 */
import { isDeepStrictEqual } from 'node:util';
import { numberFlag } from './support/args.js';
import { setupWorld } from './support/fuzz-cases.js';
import { runFuzz } from './support/fuzz-runner.js';
import { ADMIN_TOKEN, ORIGIN, startHarness } from './support/harness.js';
import { stateDigest } from './support/state-digest.js';

const count = numberFlag('count', 100_000);
const h = await startHarness();
const world = await setupWorld(h.send, { origin: ORIGIN, adminToken: ADMIN_TOKEN, now: Date.now, registryKey: h.running.app.registry.ctx.keys.current() });
const before = await stateDigest(h.store, h.log);
const stats = await runFuzz(world, h.send, {
  count,
  seed: numberFlag('seed', 1),
  concurrency: numberFlag('concurrency', 16),
  onProgress: (done) => {
    if (done % 10_000 === 0) console.error(`${done} requests`);
  },
});
const after = await stateDigest(h.store, h.log);
const unchanged = isDeepStrictEqual(before, after);
await h.close();
console.log(
  JSON.stringify(
    {
      requests: stats.total,
      seconds: Number(stats.seconds.toFixed(1)),
      byStatus: stats.byStatus,
      byCode: stats.byCode,
      byEndpointAndFault: stats.byLabel,
      accepted: stats.failures.filter((f) => f.status >= 200 && f.status < 400).length,
      serverErrors: stats.failures.filter((f) => f.status >= 500 || f.status === 0).length,
      failures: stats.failures.slice(0, 10),
      internalErrorsLogged: h.errors.length,
      stateUnchanged: unchanged,
      logSize: after.logSize,
    },
    null,
    2,
  ),
);
process.exitCode = stats.failures.length === 0 && h.errors.length === 0 && unchanged ? 0 : 1;
