import { jwkThumbprint } from '@etdi/protocol';
import type { KeyStatus, NamespaceInfo } from '@etdi/schemas';
import type { ToolRow } from '../../store/types.js';
import { html, providerText } from '../html.js';
import { page } from '../layout.js';
import { logEntryHref, time, toolLink } from './links.js';

/** A namespace's keys with their status and revocation times, and its tools. */
export function namespacePage(info: NamespaceInfo, keys: KeyStatus[], tools: ToolRow[]): string {
  return page(
    { title: info.namespace },
    html`<p class="muted">Namespace</p>
<h1><code>${info.namespace}</code></h1>
<dl class="facts">
<dt>Verified by</dt><dd>${info.verification === 'well-known' ? 'domain control (well-known document)' : 'administrator grant'}</dd>
<dt>Registered</dt><dd>${time(info.registeredAt)} (<a href="${logEntryHref(info.leafIndex)}">log entry #${info.leafIndex}</a>)</dd>
<dt>Active keys</dt><dd>${info.activeKeys}</dd>
<dt>Tools</dt><dd>${info.tools}</dd>
</dl>
<section aria-labelledby="keys-h"><h2 id="keys-h">Keys</h2>
<table><thead><tr><th scope="col">Key id (RFC 7638 thumbprint)</th><th scope="col">Added</th><th scope="col">Status</th><th scope="col">Revoked from</th><th scope="col">Reason</th></tr></thead>
<tbody>${keys.map(
      (k) => html`<tr><td><code>${k.keyId}</code>${jwkThumbprint(k.jwk) === k.keyId ? '' : html` <span class="badge bad">thumbprint mismatch</span>`}</td><td>${time(k.addedAt)}</td><td>${k.status === 'active' ? html`<span class="badge ok">active</span>` : html`<span class="badge bad">revoked</span>`}</td><td>${k.revokedFrom ? time(k.revokedFrom) : html`<span class="muted">—</span>`}</td><td>${k.reason ? providerText(k.reason) : ''}</td></tr>`,
    )}</tbody></table></section>
<section aria-labelledby="tools-h"><h2 id="tools-h">Tools</h2>
${tools.length === 0 ? html`<p class="muted">No tools published.</p>` : html`<ul>${tools.map((t) => html`<li>${toolLink(t.tool_id)} <span class="badge">${t.latest_version}</span> ${t.title ? providerText(t.title) : ''}</li>`)}</ul>`}
${tools.length < info.tools ? html`<p class="muted">Showing the first ${tools.length} of ${info.tools}; <a href="/?q=${encodeURIComponent(info.namespace + '/')}">search for the rest</a>.</p>` : ''}
</section>`,
  );
}
