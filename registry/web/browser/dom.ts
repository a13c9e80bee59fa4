/**
 * DOM helpers for the browser script. Text only ever goes in through textContent and attributes
 * through setAttribute: no string becomes markup (the page's CSP refuses innerHTML anyway).
 */
export type Child = Node | string | null | undefined | false;

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** A link to a path of this UI (built by the script from fixed parts and encoded values). */
export function link(path: string, text: string): HTMLAnchorElement {
  if (!path.startsWith('/')) throw new TypeError('link: only paths of this site');
  return el('a', { href: path }, text);
}

const byId = (id: string): HTMLElement => {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`#${id} missing from the page`);
  return node;
};

export type VerdictStatus = 'pending' | 'verified' | 'failed' | 'alarm' | 'reviewed';

/** The verdict panel: its data-status and data-code are what tests and people read first. */
export function setVerdict(status: VerdictStatus, text: string, code?: string, detail?: string): void {
  const panel = byId('verify');
  panel.dataset.status = status;
  if (code === undefined) delete panel.dataset.code;
  else panel.dataset.code = code;
  byId('verdict').textContent = text;
  const d = document.getElementById('verdict-detail');
  if (d !== null) d.textContent = detail ?? '';
  else if (detail !== undefined) byId('verdict').after(el('p', { id: 'verdict-detail' }, detail));
}

export function addCheck(text: string): void {
  byId('checks').append(el('li', {}, text));
}

export function logKeyPanel(): HTMLElement {
  return byId('log-key');
}

export { byId };
