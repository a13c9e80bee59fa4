import semverGt from 'semver/functions/gt.js';
import { MAX_BUNDLE_SET, type LockfilePin, type VersionBundle } from '@etdi/schemas';
import type { RegistryClient, ToolVerifier } from '@etdi/client';
import { optional, parse, required } from '../cli-support/args.js';
import { ERROR_CODES, isErrorCode } from '@etdi/protocol';
import type { Command } from '../cli-support/command.js';
import { EXIT, usage, type ExitCode } from '../cli-support/errors.js';
import { Output, Progress, type CliIo } from '../cli-support/output.js';

const help = `etdi audit --lockfile <file> --registry <url> [--json | --sarif] [--trust <file>]

Re-checks every pin of a lockfile against the registry, for a CI job to gate on:
  - the pinned version still verifies: not revoked (REVOKED), signer key not revoked
    (KEY_REVOKED), still in the transparency log and consistent with the lockfile's checkpoint
    (NOT_LOGGED, LOG_INCONSISTENT), same digests as approved (RUG_PULL), valid attestation;
  - a newer version exists (NEW_VERSION, note) and whether it asks for more permissions or
    riskier annotations (PERMISSION_ESCALATION, warning).
A progress bar is drawn on stderr only when stdout is a terminal and there are many pins.

  --json    {"ok":bool,"lockfile","registry","pins":n,"findings":[{"toolId","pinnedVersion",
             "code","level":"error"|"warning"|"note","message","latestVersion"?,"evidence"?}],
             "checked":[{"toolId","pinnedVersion","latestVersion"?,"status":"ok"|"findings"}]}
  --sarif   the same findings as SARIF 2.1.0 (one result per finding, ruleId = code)

Example:
  etdi audit --lockfile etdi.lock.json --registry https://registry.example --sarif > etdi.sarif

Exit codes: 0 clean (notes only: a newer version without escalation), 1 an error or warning
finding, 2 usage, registry unreachable or corrupt lockfile.`;

export interface AuditFinding {
  toolId: string;
  pinnedVersion: string;
  code: string;
  level: 'error' | 'warning' | 'note';
  message: string;
  latestVersion?: string;
  evidence?: unknown;
}

const RULES: Record<string, string> = {
  REVOKED: 'The pinned tool version was revoked by its provider or the registry',
  KEY_REVOKED: 'The key that signed the pinned version is revoked',
  RUG_PULL: 'The pinned version changed after approval',
  NOT_LOGGED: 'The pinned version is not proven to be in the transparency log',
  LOG_INCONSISTENT: 'The registry log is inconsistent with the checkpoint in the lockfile (fork or split view)',
  PERMISSION_ESCALATION: 'A newer version asks for more permissions or riskier annotations',
  NEW_VERSION: 'A newer version is available',
  UNKNOWN_TOOL: 'The registry no longer serves the pinned version',
};

/** SARIF 2.1.0 (OASIS) log of audit findings: what code-scanning UIs ingest. */
export function toSarif(findings: readonly AuditFinding[], lockfilePath: string): unknown {
  const codes = [...new Set(findings.map((f) => f.code))].sort();
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'etdi',
            informationUri: 'https://arxiv.org/abs/2506.01333',
            rules: codes.map((id) => ({ id, shortDescription: { text: RULES[id] ?? id } })),
          },
        },
        results: findings.map((f) => ({
          ruleId: f.code,
          level: f.level,
          message: { text: `${f.toolId}@${f.pinnedVersion}: ${f.message}` },
          locations: [{ physicalLocation: { artifactLocation: { uri: lockfilePath } }, logicalLocations: [{ fullyQualifiedName: f.toolId, kind: 'module' }] }],
          properties: { toolId: f.toolId, pinnedVersion: f.pinnedVersion, ...(f.latestVersion ? { latestVersion: f.latestVersion } : {}) },
        })),
      },
    ],
  };
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'audit every pin of a lockfile (revocations, newer versions, escalations, log); --json, --sarif',
  help,
  async run(argv: readonly string[], io: CliIo): Promise<ExitCode> {
    const { values } = parse('audit', argv, { registry: { type: 'string' }, lockfile: { type: 'string' }, sarif: { type: 'boolean' }, trust: { type: 'string' } }, false);
    if (values.json === true && values.sarif === true) throw usage('audit', 'give --json or --sarif, not both');
    const machine = values.json === true || values.sarif === true;
    const out = new Output(io, machine);
    const registry = required('audit', values, 'registry');
    const lockfilePath = required('audit', values, 'lockfile');
    const trustPath = optional(values, 'trust');
    const { openVerifier } = await import('../cli-support/trust.js');
    const { describeChanges } = await import('../cli-support/tools.js');
    const { isVerificationError, toListedTool } = await import('@etdi/client');
    const opened = await openVerifier({ registry, lockfilePath, ...(trustPath ? { trustPath } : {}), save: true, out, allowMissingLockfile: false });
    const { verifier } = opened;
    const pins: LockfilePin[] = Object.values(verifier.lockfile.tools).sort((a, b) => a.toolId.localeCompare(b.toolId));
    const findings: AuditFinding[] = [];
    const checked: { toolId: string; pinnedVersion: string; latestVersion?: string; status: 'ok' | 'findings' }[] = [];
    const progress = new Progress(out, pins.length, 'auditing');
    let operational = false;
    // Every bundle the audit needs in one request and one attestation set; a registry without
    // POST /v1/bundles (or any failure there) leaves the per-pin requests below to answer.
    const fromSet = await auditBundles(opened.registry, verifier, pins).catch(() => undefined);
    const bundleOf = (toolId: string, version: string): Promise<VersionBundle> =>
      Promise.resolve(fromSet?.get(`${toolId}@${version}`) ?? opened.registry.getBundle(toolId, version));

    for (const pin of pins) {
      const before = findings.length;
      const add = (f: Omit<AuditFinding, 'toolId' | 'pinnedVersion'>): void => {
        findings.push({ toolId: pin.toolId, pinnedVersion: pin.version, ...f });
      };
      const fromError = (error: unknown, prefix = ''): void => {
        if (!isVerificationError(error)) throw error;
        if (isErrorCode(error.code) && ERROR_CODES[error.code].kind === 'operational') operational = true;
        add({ code: error.code, level: error.code === 'UNKNOWN_TOOL' ? 'warning' : 'error', message: prefix + error.message, evidence: error.evidence });
      };
      // 1. The pinned version itself, verified like a live tool against the pin.
      try {
        const pinned = await bundleOf(pin.toolId, pin.version);
        await verifier.verify(toListedTool(pinned.record), { provider: pin.provider });
      } catch (error) {
        fromError(error);
      }
      // 2. The newest version: newer? asks for more?
      let latestVersion: string | undefined;
      try {
        const latest = await bundleOf(pin.toolId, 'latest');
        latestVersion = latest.record.version;
        if (semverGt(latestVersion, pin.version)) {
          try {
            const tool = await verifier.verify(toListedTool(latest.record), { provider: pin.provider });
            const d = tool.decision;
            const changes = d.status === 'needs-approval' ? d.changes : d.upgrade?.changes;
            const escalation = changes?.escalation === true;
            add({
              code: escalation ? 'PERMISSION_ESCALATION' : 'NEW_VERSION',
              level: escalation ? 'warning' : 'note',
              message: `${latestVersion} is available${changes ? `: ${describeChanges(changes).map((l) => l.trim()).join('; ')}` : ''}`,
              latestVersion,
              ...(changes ? { evidence: { changes } } : {}),
            });
          } catch (error) {
            fromError(error, `newer version ${latestVersion}: `);
          }
        }
      } catch (error) {
        fromError(error);
      }
      checked.push({ toolId: pin.toolId, pinnedVersion: pin.version, ...(latestVersion ? { latestVersion } : {}), status: findings.length > before ? 'findings' : 'ok' });
      progress.tick();
    }
    progress.end();
    const ok = !findings.some((f) => f.level !== 'note');
    if (values.sarif === true) io.stdout.write(JSON.stringify(toSarif(findings, lockfilePath), null, 2) + '\n');
    // `bundleSet`: whether the pins were fetched as bundle sets (one request, one attestation)
    else out.result({ ok, lockfile: lockfilePath, registry, pins: pins.length, bundleSet: fromSet !== undefined, findings, checked });
    if (!machine) {
      if (findings.length === 0) out.line(`${pins.length} pin(s) checked: clean`);
      else {
        out.table(
          ['TOOL', 'PINNED', 'LATEST', 'LEVEL', 'FINDING'],
          findings.map((f) => [f.toolId, f.pinnedVersion, f.latestVersion ?? '', out.paint(f.level === 'error' ? 'red' : f.level === 'warning' ? 'yellow' : 'dim', f.level), f.code]),
        );
        out.line();
        for (const f of findings) out.line(`${f.toolId}: ${f.message}`);
      }
    }
    if (operational) return EXIT.ERROR;
    return ok ? EXIT.OK : EXIT.FINDINGS;
  },
};

/**
 * The pinned and the newest version of every pin, by `toolId@version` and `toolId@latest`, from
 * bundle sets whose attestations the verifier has checked (addBundleSet). A version the registry
 * does not have is absent, so the caller's per-pin request reports it as before.
 */
async function auditBundles(registry: RegistryClient, verifier: ToolVerifier, pins: readonly LockfilePin[]): Promise<Map<string, VersionBundle>> {
  const found = new Map<string, VersionBundle>();
  const half = Math.floor(MAX_BUNDLE_SET / 2);
  for (let i = 0; i < pins.length; i += half) {
    const chunk = pins.slice(i, i + half);
    const set = await registry.getBundleSet(chunk.flatMap((p) => [{ toolId: p.toolId, version: p.version }, { toolId: p.toolId, version: 'latest' }]));
    await verifier.addBundleSet(set);
    const byVersion = new Map(set.bundles.map((b) => [`${b.record.toolId}@${b.record.version}`, b]));
    for (const [key, bundle] of byVersion) found.set(key, bundle);
    for (const l of set.latest) {
      const bundle = byVersion.get(`${l.toolId}@${l.version}`);
      if (bundle !== undefined) found.set(`${l.toolId}@latest`, bundle);
    }
  }
  return found;
}
