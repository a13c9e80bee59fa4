import { classifyChanges, hintsOf, type ToolChanges } from '@etdi/client';
import { html, providerText, suspiciousNote, type Html } from '../html.js';
import { page } from '../layout.js';
import { signedTermsOf, type SignedDocument, type VersionDetail } from '../reads.js';
import { wordDiff } from '../diff.js';
import { parametersTable, policyView, signedFormatView, trustLabelsView } from './definition.js';
import { compareHref, toolLink, versionHref } from './links.js';

interface Line {
  escalation: boolean;
  text: Html;
}

const code = (s: string): Html => html`<code>${providerText(s)}</code>`;
const list = (items: readonly string[]): Html => html`${items.map((s, i) => html`${i > 0 ? ', ' : ''}${code(s)}`)}`;

/** The verifier's classification as lines, escalations (what needs re-approval) first. */
export function changeLines(c: ToolChanges): Line[] {
  const lines: Line[] = [];
  for (const p of c.permissionsAdded) lines.push({ escalation: true, text: html`Permission added: ${code(p)}` });
  for (const h of c.riskierAnnotations) lines.push({ escalation: true, text: html`Riskier hint: <code>${h.hint}</code> ${String(h.from)} → <strong>${String(h.to)}</strong>` });
  for (const t of c.riskierTrustLabels) lines.push({ escalation: true, text: html`Riskier trust label: <code>${t.label}</code> ${String(t.from)} → <strong>${String(t.to)}</strong>` });
  if (c.permissionsRemoved.length > 0) lines.push({ escalation: false, text: html`Permissions removed: ${list(c.permissionsRemoved)}` });
  for (const h of c.saferAnnotations) lines.push({ escalation: false, text: html`Safer hint: <code>${h.hint}</code> ${String(h.from)} → ${String(h.to)}` });
  for (const t of c.saferTrustLabels) lines.push({ escalation: false, text: html`Safer trust label: <code>${t.label}</code> ${String(t.from)} → ${String(t.to)}` });
  if (c.inputParamsAdded.length > 0) lines.push({ escalation: false, text: html`Input parameters added: ${list(c.inputParamsAdded)}` });
  if (c.inputParamsNewlyRequired.length > 0) lines.push({ escalation: false, text: html`Input parameters now required: ${list(c.inputParamsNewlyRequired)}` });
  if (c.inputParamsRemoved.length > 0) lines.push({ escalation: false, text: html`Input parameters removed: ${list(c.inputParamsRemoved)}` });
  if (c.inputSchemaChanged) lines.push({ escalation: false, text: html`Input schema changed` });
  if (c.outputSchemaChanged) lines.push({ escalation: false, text: html`Output schema changed` });
  if (c.titleChanged) lines.push({ escalation: false, text: html`Title changed` });
  if (c.descriptionChanged) lines.push({ escalation: false, text: html`Description changed (word diff below)` });
  if (c.otherFieldsChanged.length > 0) lines.push({ escalation: false, text: html`Other fields changed: ${list(c.otherFieldsChanged)}` });
  if (c.policyChanged) lines.push({ escalation: false, text: html`Policy changed` });
  return lines;
}

const trustOf = (signed: SignedDocument): unknown => (signed.format === 'sep3140' ? signed.signedDeclaration.declaration.trust : undefined);

/**
 * Two versions side by side: the verifier's classified changes and a word diff of the
 * description. Either may be a SEP-3140 declaration: both are compared as what they sign
 * (signedTermsOf), so trust labels are compared by the reading a host applies, and a version of
 * our own format, which has none, reads as most restrictive on every label.
 */
export function comparePage(from: VersionDetail, to: VersionDetail): string {
  const a = signedTermsOf(from.signed);
  const b = signedTermsOf(to.signed);
  const changes = classifyChanges(
    { permissions: a.permissions, hints: hintsOf(a.definition), definition: a.definition as Record<string, unknown>, policy: a.policy },
    { definition: b.definition, permissions: [...b.permissions], policy: b.policy },
  );
  const lines = changeLines(changes);
  if (from.signed.format !== to.signed.format) lines.push({ escalation: false, text: html`Format changed: ${signedFormatView(from.signed)} → ${signedFormatView(to.signed)}` });
  const declared = from.signed.format === 'sep3140' || to.signed.format === 'sep3140';
  const id = to.toolId;
  const before = a.definition.description ?? '';
  const after = b.definition.description ?? '';
  return page(
    { title: `${id}: ${from.version} → ${to.version}` },
    html`<p class="muted">Comparing versions of ${toolLink(id)}</p>
<h1><a href="${versionHref(id, from.version)}">${from.version}</a> → <a href="${versionHref(id, to.version)}">${to.version}</a></h1>
<p><a href="${compareHref(id, to.version, from.version)}">Swap the two versions</a></p>
<section aria-labelledby="changes-h">
<h2 id="changes-h">What changed</h2>
${changes.escalation ? html`<p class="alert" role="alert"><strong>Escalation:</strong> this version asks for more than ${from.version}; a host that approved ${from.version} refuses it as <code>PERMISSION_ESCALATION</code> until someone re-approves it.</p>` : ''}
${lines.length === 0 ? html`<p>No change to the definition, permissions, hints, trust labels or policy.</p>` : html`<ol class="changes">${lines.map((l) => html`<li class="${l.escalation ? 'escalation' : 'change'}">${l.escalation ? html`<strong>Escalation</strong> · ` : ''}${l.text}</li>`)}</ol>`}
</section>
<section aria-labelledby="desc-h">
<h2 id="desc-h">Description</h2>
${suspiciousNote(after)}
${changes.descriptionChanged ? html`<p class="diff">${wordDiff(before, after).map((p) =>
      p.kind === 'same' ? providerText(p.text) : p.kind === 'added' ? html`<ins>${providerText(p.text)}</ins>` : html`<del>${providerText(p.text)}</del>`,
    )}</p>` : html`<p>${providerText(after)}</p>`}
</section>
<section aria-labelledby="params-h">
<h2 id="params-h">Input parameters</h2>
<h3>${from.version}</h3>${parametersTable(a.definition.inputSchema)}
<h3>${to.version}</h3>${parametersTable(b.definition.inputSchema)}
</section>
${declared ? html`<section aria-labelledby="trust-h"><h2 id="trust-h">Trust labels</h2><h3>${from.version}</h3>${trustLabelsView(trustOf(from.signed))}<h3>${to.version}</h3>${trustLabelsView(trustOf(to.signed))}</section>` : ''}
${changes.policyChanged ? html`<section aria-labelledby="policy-h"><h2 id="policy-h">Policy</h2><h3>${from.version}</h3>${policyView(a.policy)}<h3>${to.version}</h3>${policyView(b.policy)}</section>` : ''}`,
  );
}
