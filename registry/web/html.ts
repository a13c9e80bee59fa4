import { confusableSkeleton } from '@etdi/protocol';

/**
 * HTML built from trusted markup and escaped values. Every interpolation into `html` is escaped
 * unless it is itself an Html (made by this module): provider text can only ever become text.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and for double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** Tagged template: the literal parts are markup, every `${value}` is escaped (arrays joined). */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/**
 * A link into this UI: the path is built from fixed segments and percent-encoded values, so no
 * provider text can become a scheme (`javascript:`), another host, or leave its segment.
 */
export function uiPath(segments: readonly (string | { value: string })[], query: Record<string, string | number> = {}): string {
  const path = segments.map((s) => (typeof s === 'string' ? s : encodeURIComponent(s.value))).join('/');
  const q = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `/${path}${q === '' ? '' : `?${q}`}`;
}

// Characters that reorder or hide text (Trojan Source, CVE-2021-42574): shown, never applied.
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/u;
const INVISIBLE = /[\u00AD\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200D\u2060-\u2064\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/u;

const codePoint = (ch: string): string => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The ASCII text a non-ASCII letter or digit is confusable with (TR39), or undefined. Only letters
 * and digits: homoglyph spoofing imitates words, and typographic punctuation (’ “ –) is ordinary.
 */
function lookalikeOf(ch: string): string | undefined {
  if (ch.charCodeAt(0) < 0x80 || !/[\p{L}\p{N}]/u.test(ch)) return undefined;
  const skeleton = confusableSkeleton(ch);
  return skeleton !== '' && /^[\x21-\x7e]+$/.test(skeleton) && skeleton !== ch.toLowerCase() ? skeleton : undefined;
}

/** What is suspicious in a provider's text: bidi controls, invisible characters, ASCII look-alikes. */
export interface SuspiciousText {
  bidi: number;
  invisible: number;
  lookalikes: number;
}

export function inspectText(text: string): SuspiciousText {
  const found = { bidi: 0, invisible: 0, lookalikes: 0 };
  for (const ch of text) {
    if (BIDI.test(ch)) found.bidi++;
    else if (INVISIBLE.test(ch)) found.invisible++;
    else if (lookalikeOf(ch) !== undefined) found.lookalikes++;
  }
  return found;
}

/**
 * Provider text for a person: escaped, with every bidi control and invisible character replaced
 * by a visible marker (so it cannot reorder or hide what follows) and every ASCII look-alike
 * marked with what it imitates. The surrounding element should carry `dir="ltr"` isolation
 * (`<bdi>`) so the text cannot affect the page around it either.
 */
export function providerText(text: string): Html {
  let out = '';
  let plain = '';
  const flush = (): void => {
    out += escapeHtml(plain);
    plain = '';
  };
  for (const ch of text) {
    if (BIDI.test(ch)) {
      flush();
      out += `<mark class="warn bidi" title="bidirectional control ${codePoint(ch)}: it would reorder the text">[${codePoint(ch)}]</mark>`;
    } else if (INVISIBLE.test(ch)) {
      flush();
      out += `<mark class="warn invisible" title="invisible character ${codePoint(ch)}">[${codePoint(ch)}]</mark>`;
    } else {
      const like = lookalikeOf(ch);
      if (like === undefined) plain += ch;
      else {
        flush();
        out += `<mark class="warn lookalike" title="${codePoint(ch)} looks like &quot;${escapeHtml(like)}&quot;">${escapeHtml(ch)}<small>(${codePoint(ch)}≈${escapeHtml(like)})</small></mark>`;
      }
    }
  }
  flush();
  return new Html(`<bdi>${out}</bdi>`);
}

/** A short warning listing what providerText marked, or nothing. */
export function suspiciousNote(text: string): Html {
  const s = inspectText(text);
  const parts: string[] = [];
  if (s.bidi > 0) parts.push(`${s.bidi} bidirectional control character(s)`);
  if (s.invisible > 0) parts.push(`${s.invisible} invisible character(s)`);
  if (s.lookalikes > 0) parts.push(`${s.lookalikes} look-alike character(s)`);
  return parts.length === 0 ? html`` : html`<p class="alert" role="note">Contains ${parts.join(', ')}: marked below.</p>`;
}
