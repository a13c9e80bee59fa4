/**
 * CI-sized crash test (issue 9): the registry as a child process (dist/reliability/serve-child.js,
 * built by `npm test`'s tsc step), SIGKILLed under publish load 3 times. The full run (20+ kills)
 * is `npm run reliability:crash`.
 */
import { describe, expect, it } from 'vitest';
import { runCrash } from '../../reliability/support/crash-driver.js';

describe('crash safety', () => {
  describe('when the registry is SIGKILLed during sustained publish load and restarted', () => {
    it('keeps every acknowledged publish, signs only consistent checkpoints, and keeps store and log in agreement', async () => {
      const report = await runCrash({ kills: Number(process.env.ETDI_CRASH_KILLS ?? 3), clients: 8, minMs: 300, maxMs: 1200, providers: 4, toolsPerProvider: 4 });
      expect(report.problems).toEqual([]);
      expect(report.acked).toBeGreaterThan(0);
      expect(report.checkpointsChecked).toBeGreaterThan(0);
    }, 60_000);
  });
});
