import { html } from '../html.js';
import { page } from '../layout.js';
import type { TrustData } from './version.js';

/** The lockfile review: the file is read by the browser (never uploaded) and checked pin by pin. */
export function lockfilePage(trust: TrustData): string {
  return page(
    { title: 'Review a lockfile', page: 'lockfile', data: { issuer: trust.issuer, audience: trust.audience } },
    html`<h1>Review a lockfile</h1>
<p>Open an <code>etdi.lock.json</code>: your browser reads it and checks every pin against this registry (signature, log proof, revocations, what changed since the approved version). The file is never uploaded.</p>
<form class="inline" id="lockfile-form">
<label for="lockfile">Lockfile</label>
<input type="file" id="lockfile" accept=".json,application/json">
</form>
<noscript><p class="alert">The review runs in your browser and needs JavaScript; nothing is sent to the server.</p></noscript>
<section class="verdict" id="verify" data-status="pending" aria-live="polite" aria-labelledby="review-h">
<h2 id="review-h">Pins</h2>
<output id="verdict">No lockfile opened.</output>
<div id="log-key"></div>
<table id="pins" hidden><thead><tr><th scope="col">Tool</th><th scope="col">Pinned</th><th scope="col">Registry</th><th scope="col">Status</th><th scope="col">What to do</th></tr></thead><tbody></tbody></table>
</section>`,
  );
}
