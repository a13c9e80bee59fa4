/**
 * `npm run reliability:crash` (after `npm run build`): SIGKILL the registry at random moments
 * during sustained publish load, at least 20 times, and check what survived (see
 * support/crash-driver.ts). Flags: --kills 20 --clients 16 --min-ms 300 --max-ms 2500
 * --providers 20 --tools 10. Exit code 1 when any check failed.
 */
import { numberFlag } from './support/args.js';
import { runCrash } from './support/crash-driver.js';

const report = await runCrash({
  kills: numberFlag('kills', 20),
  clients: numberFlag('clients', 16),
  minMs: numberFlag('min-ms', 300),
  maxMs: numberFlag('max-ms', 2500),
  providers: numberFlag('providers', 20),
  toolsPerProvider: numberFlag('tools', 10),
  log: (line) => console.log(line),
});
const last = report.rounds[report.rounds.length - 1];
console.log(
  JSON.stringify(
    {
      kills: report.rounds.length,
      acknowledgedPublishes: report.acked,
      inFlightAtKill: report.inFlightLost,
      versionsStored: last?.versions,
      logSize: last?.logSize,
      checkpointsChecked: report.checkpointsChecked,
      restartMsMax: Math.max(...report.rounds.map((r) => r.restartMs)),
      problems: report.problems,
    },
    null,
    2,
  ),
);
process.exitCode = report.problems.length === 0 ? 0 : 1;
