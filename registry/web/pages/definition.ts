import { decodeTrustLabels, MOST_RESTRICTIVE_TRUST, type TrustLabelName } from '@etdi/client';
import type { ToolManifest } from '@etdi/schemas';
import { html, providerText, suspiciousNote, type Html } from '../html.js';
import { signedTermsOf, type SignedDocument } from '../reads.js';
import { time } from './links.js';

const HINTS = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const;

/** A JSON value for a person: pretty-printed text (escaped by html``, marked by providerText). */
export const jsonBlock = (value: unknown): Html => html`<pre>${providerText(JSON.stringify(value, null, 2))}</pre>`;

function typeOf(schema: unknown): string {
  if (schema === null || typeof schema !== 'object') return 'any';
  const s = schema as Record<string, unknown>;
  if (typeof s.type === 'string') return s.type === 'array' && typeof (s.items as { type?: unknown })?.type === 'string' ? `array of ${(s.items as { type: string }).type}` : s.type;
  if (Array.isArray(s.type)) return s.type.filter((t) => typeof t === 'string').join(' | ');
  if (Array.isArray(s.enum)) return 'enum';
  if (s.anyOf !== undefined || s.oneOf !== undefined) return 'one of several';
  return 'any';
}

/** The input parameters as a table: name, type, required, description. */
export function parametersTable(inputSchema: unknown): Html {
  const s = (inputSchema ?? {}) as { properties?: Record<string, unknown>; required?: unknown };
  const props = s.properties !== null && typeof s.properties === 'object' ? Object.entries(s.properties) : [];
  const required = new Set(Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : []);
  if (props.length === 0) return html`<p class="muted">No input parameters.</p>`;
  return html`<table>
<caption class="muted">Input parameters</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Description</th></tr></thead>
<tbody>${props.map(([name, schema]) => {
    const description = (schema as { description?: unknown } | null)?.description;
    return html`<tr><th scope="row"><code>${providerText(name)}</code></th><td><code>${typeOf(schema)}</code></td><td>${required.has(name) ? html`<strong>required</strong>` : html`<span class="muted">optional</span>`}</td><td>${typeof description === 'string' ? providerText(description) : ''}</td></tr>`;
  })}</tbody>
</table>`;
}

/** The four MCP hints as badges, with the MCP default named when a hint is absent. */
export function hintBadges(definition: { annotations?: unknown }): Html {
  const a = (definition.annotations ?? {}) as Record<string, unknown>;
  return html`<p>${HINTS.map((h) =>
    typeof a[h] === 'boolean' ? html`<span class="badge">${h}: ${String(a[h])}</span>` : html`<span class="badge muted">${h}: not set</span>`,
  )}</p>`;
}

/** A tool's signed Cedar policy: the policy text as written, its schema as JSON. */
export function policyView(policy: ToolManifest['policy']): Html {
  if (policy === undefined) return html`<p class="muted">None.</p>`;
  return html`<p>Cedar policies (enforced by the host before every call):</p><pre>${providerText(policy.policies)}</pre>${
    policy.schema === undefined ? '' : html`<details><summary>Cedar schema (JSON)</summary>${jsonBlock(policy.schema)}</details>`
  }`;
}

const TRUST_LABELS = Object.keys(MOST_RESTRICTIVE_TRUST) as TrustLabelName[];

/**
 * A SEP-3140 declaration's trust labels as the client verifier reads them (decodeTrustLabels):
 * what it declared, and the value a host applies, which for a label left out (or a value outside
 * the vocabulary) is the most restrictive one. Provider values are shown as JSON text.
 */
export function trustLabelsView(trust: unknown): Html {
  const decoded = decodeTrustLabels(trust);
  const declared = (trust !== null && typeof trust === 'object' ? trust : {}) as Record<string, unknown>;
  return html`<p class="muted">A label the declaration leaves out, or a value outside SEP-3140's vocabulary, reads as the most restrictive value.</p>
<table class="trust">
<caption class="muted">Trust labels</caption>
<thead><tr><th scope="col">Label</th><th scope="col">Declared</th><th scope="col">Read as</th></tr></thead>
<tbody>${TRUST_LABELS.map((label) => {
    const known = decoded.declared.includes(label);
    return html`<tr data-label="${label}"><th scope="row"><code>${label}</code></th><td>${
      Object.hasOwn(declared, label) ? html`<code>${providerText(JSON.stringify(declared[label]))}</code>` : html`<span class="muted">not declared</span>`
    }</td><td><code>${String(decoded.labels[label])}</code>${known ? '' : html` <span class="badge bad">most restrictive</span>`}</td></tr>`;
  })}</tbody>
</table>
${decoded.unknown.length === 0 ? '' : html`<p class="alert" role="note">Outside the vocabulary: ${decoded.unknown.map((u, i) => html`${i > 0 ? ', ' : ''}<code>${providerText(u)}</code>`)}</p>`}`;
}

/**
 * Which format the version was signed in, by whom, and when. The SEP-3140 publisher and server
 * are the manifest's own words (the registry checked that the publisher's host names this
 * namespace, and the signature), so they are provider text.
 */
export function signedFormatView(signed: SignedDocument): Html {
  if (signed.format === 'manifest') {
    const m = signed.signedManifest.manifest;
    return html`<p class="format">ETDI signed manifest, signed by namespace <code>${providerText(m.provider)}</code>; issued ${time(m.issuedAt)}.</p>`;
  }
  const { manifest, declaration } = signed.signedDeclaration;
  return html`<p class="format">SEP-3140 declaration, signed by <code class="publisher">${providerText(manifest.publisher)}</code> for <code class="server">${providerText(manifest.server)}</code>; declaration version <code>${providerText(declaration.version)}</code> of a manifest issued ${time(manifest.issuedAt)}, expiring ${time(manifest.expiresAt)} (the registry accepted it before then).</p>`;
}

/** A signed definition rendered for a person; every provider string goes through providerText. */
export function definitionView(signed: SignedDocument): Html {
  const terms = signedTermsOf(signed);
  const d = terms.definition;
  const title = d.title ?? (d.annotations as { title?: string } | undefined)?.title;
  return html`<section aria-labelledby="def-h">
<h2 id="def-h">Definition</h2>
${signedFormatView(signed)}
${title === undefined ? '' : html`<p><strong>Title:</strong> ${providerText(title)}</p>`}
${d.description === undefined ? html`<p class="muted">No description.</p>` : html`${suspiciousNote(d.description)}<div class="description">${providerText(d.description)}</div>`}
<h3>Input</h3>
${parametersTable(d.inputSchema)}
<details><summary>Input schema (JSON)</summary>${jsonBlock(d.inputSchema)}</details>
<h3>Output schema</h3>
${d.outputSchema === undefined ? html`<p class="muted">None declared.</p>` : jsonBlock(d.outputSchema)}
<h3>Annotation hints</h3>
${hintBadges(d)}
${signed.format === 'sep3140' ? html`<h3>Trust labels (SEP-3140)</h3>
${trustLabelsView(signed.signedDeclaration.declaration.trust)}` : ''}
<h3>Permissions</h3>
${signed.format === 'sep3140' ? html`<p class="muted">None: a SEP-3140 declaration names no permissions; its trust labels say what it does.</p>` : terms.permissions.length === 0 ? html`<p class="muted">None.</p>` : html`<ul>${terms.permissions.map((p) => html`<li><code>${providerText(p)}</code></li>`)}</ul>`}
<h3>Policy</h3>
${policyView(terms.policy)}
</section>`;
}
