import { sha256, toHex, utf8 } from '@etdi/protocol';
import { el, logKeyPanel, setVerdict } from './dom.js';
import { getJson } from './registry-api.js';

/** localStorage keys (per origin, so per registry). */
const PINNED_KEY = 'etdi.pinnedLogKey';
const PINNED_AT = 'etdi.pinnedLogKeyAt';
const LAST_CHECKPOINT = 'etdi.lastCheckpoint';

/** What the registry's /v1/log/key says. */
export interface ServedLogKey {
  origin: string;
  verifierKey: string;
}

export type LogKeyPin =
  | { state: 'first-use'; key: string }
  | { state: 'same'; key: string; since: string }
  | { state: 'changed'; key: string; since: string; served: string };

/** A log key for a person: SHA-256 of the note verifier key, in groups of four hex digits. */
export function fingerprint(verifierKey: string): string {
  return toHex(sha256(utf8(verifierKey))).slice(0, 32).replace(/(.{4})(?!$)/g, '$1 ');
}

/**
 * Trust on first use: the first log key this browser sees for this registry is kept, and every
 * later visit must see the same one. A different key is never accepted silently: a registry
 * that changes its log key can show a different history (split view) to whoever trusts the new one.
 */
export function pinLogKey(served: string): LogKeyPin {
  const pinned = localStorage.getItem(PINNED_KEY);
  if (pinned === null) {
    localStorage.setItem(PINNED_KEY, served);
    localStorage.setItem(PINNED_AT, new Date().toISOString());
    return { state: 'first-use', key: served };
  }
  const since = localStorage.getItem(PINNED_AT) ?? 'an earlier visit';
  return pinned === served ? { state: 'same', key: pinned, since } : { state: 'changed', key: pinned, since, served };
}

/** Replaces the pinned key after the person said so (and forgets the checkpoint of the old log). */
export function trustNewLogKey(served: string): void {
  localStorage.setItem(PINNED_KEY, served);
  localStorage.setItem(PINNED_AT, new Date().toISOString());
  localStorage.removeItem(LAST_CHECKPOINT);
}

/** The newest checkpoint this browser verified from this registry (for consistency next time). */
export function lastCheckpoint(): { origin: string; treeSize: number; note: string } | undefined {
  try {
    const value = JSON.parse(localStorage.getItem(LAST_CHECKPOINT) ?? 'null') as unknown;
    if (value !== null && typeof value === 'object' && typeof (value as { note?: unknown }).note === 'string')
      return value as { origin: string; treeSize: number; note: string };
  } catch {
    // not ours or damaged: start again from the current checkpoint
  }
  return undefined;
}

export function rememberCheckpoint(checkpoint: { origin: string; treeSize: number; note: string } | undefined): void {
  if (checkpoint !== undefined) localStorage.setItem(LAST_CHECKPOINT, JSON.stringify(checkpoint));
}

/** Shows the pinned key with its fingerprint; a changed key as an alarm with an explicit way out. */
export function showLogKey(pin: LogKeyPin, onTrustNew: () => void): void {
  const panel = logKeyPanel();
  panel.replaceChildren();
  if (pin.state === 'changed') {
    const button = el('button', { type: 'button', id: 'trust-new-log-key' }, 'I checked with the operator: trust the new key');
    button.addEventListener('click', onTrustNew);
    panel.append(
      el(
        'div',
        { class: 'alert', role: 'alert', id: 'log-key-alarm' },
        el('p', {}, el('strong', {}, 'Alarm: the registry’s log key changed (LOG_KEY_CHANGED).')),
        el('p', {}, `You pinned ${fingerprint(pin.key)} (${pin.since}); the registry now presents ${fingerprint(pin.served)}.`),
        el('p', {}, 'A log does not change its key in normal operation: the registry may be showing you a different history. Nothing is verified against the new key until you accept it.'),
        button,
      ),
    );
    return;
  }
  panel.append(
    el(
      'p',
      { id: 'log-key-pin' },
      pin.state === 'first-use' ? 'Log key pinned now (first use) in this browser: ' : `Log key pinned in this browser since ${pin.since}: `,
      el('code', {}, fingerprint(pin.key)),
    ),
  );
}

/**
 * The registry's log key held against the one this browser pinned, shown with its fingerprint
 * and a way to trust a new one (then `onTrustNew` runs again). A changed key raises the alarm
 * and nothing is done: undefined, with `what` naming what was not done ("verified", ...).
 */
export async function pinnedLogKey(what: string, onTrustNew: () => void): Promise<{ served: ServedLogKey; key: string } | undefined> {
  const served = (await getJson('/v1/log/key')) as ServedLogKey;
  const pin = pinLogKey(served.verifierKey);
  showLogKey(pin, () => {
    trustNewLogKey(served.verifierKey);
    onTrustNew();
  });
  if (pin.state === 'changed') {
    setVerdict('alarm', 'alarm: LOG_KEY_CHANGED', 'LOG_KEY_CHANGED', `The registry’s log key is not the one this browser pinned: nothing was ${what}.`);
    return undefined;
  }
  return { served, key: pin.key };
}
