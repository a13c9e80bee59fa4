import type { ToolRow } from '../../store/types.js';
import { html, providerText } from '../html.js';
import { page } from '../layout.js';
import { signedTermsOf, type VersionDetail, type VersionSummary } from '../reads.js';
import { definitionView } from './definition.js';
import { compareHref, namespaceLink, time, versionHref } from './links.js';

export const statusBadge = (v: Pick<VersionSummary, 'status' | 'revocation'>): ReturnType<typeof html> =>
  v.status === 'active' ? html`<span class="badge ok">active</span>` : html`<span class="badge bad">revoked</span>`;

/** Every version with date, signer and status; the latest definition; a form to compare two versions. */
export function toolPage(tool: ToolRow, versions: VersionSummary[], current: VersionDetail): string {
  const id = tool.tool_id;
  const title = signedTermsOf(current.signed).definition.title;
  return page(
    { title: id },
    html`<p class="muted">Tool in ${namespaceLink(tool.namespace)}</p>
<h1><code>${providerText(id)}</code></h1>
${title === undefined ? '' : html`<p class="lead">${providerText(title)}</p>`}
<section aria-labelledby="versions-h">
<h2 id="versions-h">Versions</h2>
<table><thead><tr><th scope="col">Version</th><th scope="col">Published</th><th scope="col">Signer key</th><th scope="col">Status</th><th scope="col">Changes</th></tr></thead>
<tbody>${versions.map((v, i) => {
      const older = versions[i + 1];
      return html`<tr><td><a href="${versionHref(id, v.version)}">${v.version}</a></td><td>${time(v.publishedAt)}</td><td><code title="${v.signerKeyId}">${v.signerKeyId.slice(0, 16)}…</code></td><td>${statusBadge(v)}${v.revocation ? html` <span class="muted">${providerText(v.revocation.reason)}</span>` : ''}</td><td>${older === undefined ? html`<span class="muted">first version</span>` : html`<a href="${compareHref(id, older.version, v.version)}">compare with ${older.version}</a>`}</td></tr>`;
    })}</tbody></table>
${versions.length < 2 ? '' : html`<form class="inline" method="get" action="${compareHref(id, '', '').split('?')[0]!}">
<label>From <select name="from">${versions.map((v, i) => html`<option${i === 1 ? html` selected` : ''}>${v.version}</option>`)}</select></label>
<label>To <select name="to">${versions.map((v, i) => html`<option${i === 0 ? html` selected` : ''}>${v.version}</option>`)}</select></label>
<button type="submit">Compare</button>
</form>`}
</section>
<p>Showing version <a href="${versionHref(id, current.version)}">${current.version}</a> (<a href="${versionHref(id, current.version)}#verify">verify it in your browser</a>).</p>
${definitionView(current.signed)}`,
  );
}
