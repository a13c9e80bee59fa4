import type { ToolListResponse } from '@etdi/schemas';
import { html, providerText, uiPath } from '../html.js';
import { page } from '../layout.js';
import type { HomeSummary } from '../reads.js';
import { logEntryHref, namespaceLink, time, toolLink, versionHref } from './links.js';

export function homePage(summary: HomeSummary, query: string | undefined, results: ToolListResponse | undefined): string {
  const c = summary.counts;
  return page(
    { title: query ? `Search: ${query}` : 'Tools' },
    html`<h1>Signed MCP tools</h1>
<form class="inline" role="search" method="get" action="/">
<label for="q">Search tools by name, namespace or description</label>
<input type="search" id="q" name="q" maxlength="128" value="${query ?? ''}" placeholder="e.g. read_file">
<button type="submit">Search</button>
</form>
${results === undefined ? '' : html`<section aria-labelledby="results-h"><h2 id="results-h">${query ? html`Results for “${providerText(query)}”` : 'Tools'}</h2>
${results.items.length === 0 ? html`<p>No tool matches.</p>` : html`<ul class="results">${results.items.map(
      (t) => html`<li>${toolLink(t.toolId)} <span class="badge">${t.latestVersion}</span> ${t.title ? html`<strong>${providerText(t.title)}</strong> ` : ''}<span class="muted">${providerText((t.description ?? '').slice(0, 200))}</span></li>`,
    )}</ul>`}
${results.nextCursor === undefined ? '' : html`<p><a href="${uiPath([''], { q: query ?? '', cursor: results.nextCursor })}">More results</a></p>`}
</section>`}
<section aria-labelledby="counts-h"><h2 id="counts-h">In this registry</h2>
<ul class="counts">
<li><strong>${c.namespaces}</strong> namespaces</li>
<li><strong>${c.tools}</strong> tools</li>
<li><strong>${c.versions}</strong> versions</li>
<li><strong>${c.revokedVersions}</strong> revoked versions</li>
<li><strong><a href="/ui/log">${c.logSize}</a></strong> log entries</li>
</ul></section>
<section aria-labelledby="pub-h"><h2 id="pub-h">Latest publishes</h2>
${summary.publishes.length === 0 ? html`<p class="muted">Nothing published yet.</p>` : html`<table><thead><tr><th scope="col">Tool</th><th scope="col">Version</th><th scope="col">Published</th><th scope="col">Log entry</th></tr></thead><tbody>${summary.publishes.map(
      ({ leafIndex, event: e }) => html`<tr><td>${toolLink(e.toolId)}</td><td><a href="${versionHref(e.toolId, e.version)}">${e.version}</a></td><td>${time(e.at)}</td><td><a href="${logEntryHref(leafIndex)}">#${leafIndex}</a></td></tr>`,
    )}</tbody></table>`}
</section>
<section aria-labelledby="rev-h"><h2 id="rev-h">Latest revocations</h2>
${summary.revocations.length === 0 ? html`<p class="muted">No revocations.</p>` : html`<table><thead><tr><th scope="col">What</th><th scope="col">Reason</th><th scope="col">When</th><th scope="col">Log entry</th></tr></thead><tbody>${summary.revocations.map(
      ({ leafIndex, event: e }) =>
        html`<tr><td>${e.kind === 'version.revoked' ? html`${toolLink(e.toolId)} <a href="${versionHref(e.toolId, e.version)}">${e.version}</a>` : html`key <code>${e.keyId.slice(0, 16)}…</code> of ${namespaceLink(e.namespace)}`}</td><td>${providerText(e.reason)}</td><td>${time(e.at)}</td><td><a href="${logEntryHref(leafIndex)}">#${leafIndex}</a></td></tr>`,
    )}</tbody></table>`}
</section>`,
  );
}
