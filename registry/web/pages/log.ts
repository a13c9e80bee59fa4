import { toBase64 } from '@etdi/protocol';
import { html, providerText, uiPath } from '../html.js';
import { page } from '../layout.js';

export interface LogPageData {
  checkpoint: { size: number; note: string };
  start: number;
  entries: { index: number; data: string }[];
  verifierKey: string;
  inclusion?: { index: number; treeSize: number; hashes: Uint8Array[] };
  consistency?: { from: number; to: number; hashes: Uint8Array[]; fromRoot: Uint8Array; toRoot: Uint8Array };
  pageSize: number;
}

/** The log: the latest checkpoint, entries by index, an inclusion proof, a consistency proof. */
export function logPage(d: LogPageData): string {
  const size = d.checkpoint.size;
  const prev = Math.max(0, d.start - d.pageSize);
  const next = d.start + d.pageSize;
  return page(
    { title: 'Transparency log', page: 'log', data: { size, ...(d.inclusion ? { inclusion: d.inclusion.index } : {}) } },
    html`<h1>Transparency log</h1>
<section class="verdict" id="verify" data-status="pending" aria-labelledby="verify-h" aria-live="polite">
<h2 id="verify-h">Checked in your browser</h2>
<output id="verdict">Not checked: this needs JavaScript.</output>
<ul id="checks" class="checks"></ul>
<div id="log-key"></div>
</section>
<section aria-labelledby="cp-h"><h2 id="cp-h">Latest checkpoint (size ${size})</h2>
<pre id="checkpoint-note">${d.checkpoint.note}</pre>
<p>Log key: <code>${d.verifierKey}</code></p></section>
<section aria-labelledby="entries-h"><h2 id="entries-h">Entries ${d.start}–${Math.max(d.start, d.start + d.entries.length - 1)}</h2>
<form class="inline" method="get" action="/ui/log"><label>First entry <input type="number" name="start" min="0" max="${size}" value="${d.start}"></label><button type="submit">Show</button></form>
<table><thead><tr><th scope="col">Index</th><th scope="col">Event (the leaf's JCS bytes)</th><th scope="col">Proof</th></tr></thead>
<tbody>${d.entries.map((e) => html`<tr id="entry-${e.index}"><td>${e.index}</td><td><code>${providerText(e.data)}</code></td><td><a href="${uiPath(['ui', 'log'], { start: d.start, inclusion: e.index })}#inclusion-h">inclusion</a></td></tr>`)}</tbody></table>
<nav aria-label="Log pages"><p>${d.start > 0 ? html`<a href="${uiPath(['ui', 'log'], { start: prev })}">Previous</a> ` : ''}${next < size ? html`<a href="${uiPath(['ui', 'log'], { start: next })}">Next</a>` : ''}</p></nav>
</section>
<section aria-labelledby="inclusion-h"><h2 id="inclusion-h">Inclusion proof</h2>
<form class="inline" method="get" action="/ui/log#inclusion-h"><input type="hidden" name="start" value="${d.start}"><label>Entry index <input type="number" name="inclusion" min="0" max="${Math.max(0, size - 1)}" value="${d.inclusion?.index ?? ''}" required></label><button type="submit">Prove</button></form>
${d.inclusion === undefined ? '' : html`<p>Entry ${d.inclusion.index} in the tree of size ${d.inclusion.treeSize}: ${d.inclusion.hashes.length} hashes (RFC 9162 2.1.3).</p><ol class="mono">${d.inclusion.hashes.map((h) => html`<li>${toBase64(h)}</li>`)}</ol>`}
</section>
<section aria-labelledby="consistency-h"><h2 id="consistency-h">Consistency check</h2>
<form class="inline" method="get" action="/ui/log#consistency-h"><input type="hidden" name="start" value="${d.start}"><label>From size <input type="number" name="from" min="0" max="${size}" value="${d.consistency?.from ?? ''}" required></label><label>To size <input type="number" name="to" min="0" max="${size}" value="${d.consistency?.to ?? size}" required></label><button type="submit">Check</button></form>
${d.consistency === undefined ? '' : html`<p>Tree of size ${d.consistency.from} (root <code>${toBase64(d.consistency.fromRoot)}</code>) → size ${d.consistency.to} (root <code>${toBase64(d.consistency.toRoot)}</code>): ${d.consistency.hashes.length} hashes (RFC 9162 2.1.4).</p><ol class="mono">${d.consistency.hashes.map((h) => html`<li>${toBase64(h)}</li>`)}</ol>`}
<p class="muted">Your browser also keeps the last checkpoint it verified from this registry and checks that the log only grew since (a fork or a rewritten history raises an alarm).</p>
</section>`,
  );
}
