import semverCompare from 'semver/functions/compare.js';
import { bundleSource, recordTerms, toListedTool, verifyEvidence, decodeLockfile, decidePin, VerificationError, type StatefulLogChecker, type TrustRoot, type ValidatedBundle } from '@etdi/client';
import type { Ed25519Backend } from '@etdi/protocol';
import type { Lockfile, LockfilePin } from '@etdi/schemas';
import { byId, el, link, setVerdict } from './dom.js';
import { pinnedLogKey } from './log-key.js';
import { describeFailure, logCheckerFor, segment, trustRootFor, webCrypto } from './registry-api.js';
import { fetchBundle } from './verify-version.js';

/** What the review says about one pin (stable names: tests and people read them). */
export type PinStatus = 'up-to-date' | 'newer-version' | 'escalation' | 'revoked' | 'key-revoked' | 'log-inconsistent' | 'rug-pull' | 'missing' | 'failed';

interface PinReview {
  pin: LockfilePin;
  status: PinStatus;
  code?: string;
  message: string;
  latest?: string;
}

interface ReviewContext {
  lockfile: Lockfile;
  trustRoot: TrustRoot;
  log: StatefulLogChecker;
  backend: Ed25519Backend;
}

const toolPath = (toolId: string, ...rest: string[]): string => {
  const slash = toolId.indexOf('/');
  return ['', 'ui', 'tools', segment(toolId.slice(0, slash)), segment(toolId.slice(slash + 1)), ...rest].join('/');
};

/** One pin against the registry: the pinned version's status, then the newest version through the verifier. */
async function reviewPin(pin: LockfilePin, ctx: ReviewContext): Promise<PinReview> {
  let pinned: ValidatedBundle | undefined;
  let latest: ValidatedBundle | undefined;
  try {
    [pinned, latest] = await Promise.all([fetchBundle(pin.toolId, pin.version), fetchBundle(pin.toolId, 'latest')]);
  } catch (error) {
    const { code, message } = describeFailure(error);
    return { pin, status: 'failed', code, message };
  }
  if (pinned === undefined || latest === undefined) return { pin, status: 'missing', code: 'UNKNOWN_TOOL', message: `the registry has no ${pin.toolId}@${pin.version}` };
  try {
    const evidence = await verifyEvidence(toListedTool(latest.record), {
      trustRoot: ctx.trustRoot,
      log: ctx.log,
      bundles: bundleSource([latest, pinned], semverCompare),
      backend: ctx.backend,
      provider: latest.record.provider,
    });
    const approved = recordTerms(pinned.record);
    const at = evidence.version;
    // the approved version itself withdrawn: say so before anything about newer versions
    if (pinned.status.status === 'revoked') {
      const byKey = pinned.status.signerKey.status === 'revoked' || pinned.status.revocation?.by.startsWith('key:') === true;
      return { pin, status: byKey ? 'key-revoked' : 'revoked', code: byKey ? 'KEY_REVOKED' : 'REVOKED', message: pinned.status.revocation?.reason ?? 'revoked', latest: at };
    }
    const decision = decidePin(evidence, {
      lockfile: ctx.lockfile,
      approvedManifest: (toolId, version) => (toolId === pin.toolId && version === pin.version ? approved : undefined),
    });
    if (decision.status === 'approved') return { pin, status: 'up-to-date', message: 'the approved version is the newest', latest: at };
    if (decision.code === 'PERMISSION_ESCALATION') return { pin, status: 'escalation', code: decision.code, message: decision.message, latest: at };
    return { pin, status: 'newer-version', code: decision.code, message: decision.message, latest: at };
  } catch (error) {
    const { code, message } = describeFailure(error);
    if (code === 'LOG_INCONSISTENT') return { pin, status: 'log-inconsistent', code, message };
    if (code === 'RUG_PULL') return { pin, status: 'rug-pull', code, message };
    if (pinned.status.status === 'revoked' && (code === 'REVOKED' || code === 'KEY_REVOKED')) {
      const byKey = code === 'KEY_REVOKED' || pinned.status.signerKey.status === 'revoked';
      return { pin, status: byKey ? 'key-revoked' : 'revoked', code: byKey ? 'KEY_REVOKED' : 'REVOKED', message };
    }
    return { pin, status: 'failed', code, message };
  }
}

const LABELS: Record<PinStatus, string> = {
  'up-to-date': 'up to date',
  'newer-version': 'newer version',
  escalation: 'escalation',
  revoked: 'revoked',
  'key-revoked': 'key revoked',
  'log-inconsistent': 'log inconsistent',
  'rug-pull': 'rug pull',
  missing: 'not in this registry',
  failed: 'verification failed',
};

/** What to do about a pin: links and the exact commands (text only: copied, never run here). */
function advice(r: PinReview, registry: string, lockfileName: string): Node[] {
  const approve = (version: string): HTMLElement => el('code', { class: 'command' }, `etdi approve ${r.pin.toolId}@${version} --registry ${registry} --lockfile ${lockfileName}`);
  const out: Node[] = [];
  const latest = r.latest;
  switch (r.status) {
    case 'up-to-date':
      out.push(document.createTextNode('nothing'));
      break;
    case 'newer-version':
    case 'escalation':
      out.push(link(`${toolPath(r.pin.toolId, 'compare')}?from=${segment(r.pin.version)}&to=${segment(latest!)}`, `compare ${r.pin.version} → ${latest}`), el('br'), approve(latest!));
      break;
    case 'revoked':
    case 'key-revoked':
      if (latest !== undefined && latest !== r.pin.version)
        out.push(link(`${toolPath(r.pin.toolId, 'compare')}?from=${segment(r.pin.version)}&to=${segment(latest)}`, `compare ${r.pin.version} → ${latest}`), el('br'), approve(latest));
      else out.push(document.createTextNode('stop using it: no other version to move to'));
      break;
    case 'log-inconsistent':
      out.push(document.createTextNode('stop trusting this registry and alert its operator: it shows a different history than the one your lockfile recorded'));
      break;
    case 'rug-pull':
      out.push(document.createTextNode('do not use it: the registry serves other content for the version you approved; report the provider'));
      break;
    default:
      out.push(document.createTextNode(r.message));
  }
  return out;
}

function render(reviews: PinReview[], registry: string, lockfileName: string): void {
  const table = byId('pins') as HTMLTableElement;
  const body = table.tBodies[0]!;
  body.replaceChildren(
    ...reviews.map((r) =>
      el(
        'tr',
        { 'data-tool-id': r.pin.toolId, 'data-status': r.status },
        el('td', {}, link(toolPath(r.pin.toolId), r.pin.toolId)),
        el('td', {}, link(toolPath(r.pin.toolId, 'versions', segment(r.pin.version)), r.pin.version)),
        el('td', {}, r.latest === undefined ? '—' : link(toolPath(r.pin.toolId, 'versions', segment(r.latest)), r.latest)),
        el('td', {}, el('strong', { class: `pin-status ${r.status}` }, LABELS[r.status]), r.code === undefined ? '' : el('span', { class: 'muted' }, ` ${r.code}`), el('br'), el('small', {}, r.message)),
        el('td', {}, ...advice(r, registry, lockfileName)),
      ),
    ),
  );
  table.hidden = false;
}

/** Reads the chosen file in the browser (FileReader: nothing is sent) and reviews its pins. */
export function reviewLockfilePage(main: HTMLElement): void {
  const { issuer, audience } = main.dataset as Record<string, string>;
  const input = byId('lockfile') as HTMLInputElement;
  const start = (): void => {
    const file = input.files?.[0];
    if (file !== undefined) void review(file, issuer!, audience!);
  };
  input.addEventListener('change', start);
  // a file chosen before this chunk loaded (slow network, or restored by the back button)
  start();
}

async function review(file: File, issuer: string, audience: string): Promise<void> {
  setVerdict('pending', `Reviewing ${file.name}…`);
  try {
    const lockfile = decodeLockfile(new Uint8Array(await file.arrayBuffer()));
    const backend = await webCrypto();
    const pinned = await pinnedLogKey('reviewed', () => {
      void review(file, issuer, audience);
    });
    if (pinned === undefined) return;
    const { served } = pinned;
    const trustRoot = await trustRootFor(issuer, audience, pinned.key);
    // The lockfile's checkpoint is where this host's view of the log starts: a registry whose log
    // does not extend it is inconsistent, for every pin.
    let log: StatefulLogChecker;
    try {
      log = await logCheckerFor(pinned.key, served.origin, lockfile.checkpoint);
    } catch (error) {
      if (error instanceof VerificationError && error.code === 'LOCKFILE_CORRUPT') {
        setVerdict('failed', 'failed: LOG_INCONSISTENT', 'LOG_INCONSISTENT', `The lockfile's checkpoint is not signed by this registry's log key: ${error.message}`);
        return;
      }
      throw error;
    }
    const ctx: ReviewContext = { lockfile, trustRoot, log, backend };
    const reviews: PinReview[] = [];
    for (const p of Object.values(lockfile.tools)) reviews.push(await reviewPin(p, ctx));
    render(reviews, issuer, file.name);
    const attention = reviews.filter((r) => r.status !== 'up-to-date').length;
    setVerdict('reviewed', `${reviews.length} pins reviewed, ${attention} need attention`);
  } catch (error) {
    const { code, message } = describeFailure(error);
    setVerdict('failed', `failed: ${code}`, code, message);
  }
}
