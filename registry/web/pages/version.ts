import { declarationsSignatureKid, toPinVersion } from '@etdi/protocol';
import { html, providerText, type Html } from '../html.js';
import { page } from '../layout.js';
import type { VersionDetail } from '../reads.js';
import { definitionView } from './definition.js';
import { logEntryHref, namespaceLink, time, toolLink } from './links.js';
import { statusBadge } from './tool.js';

export interface TrustData {
  /** The attestation issuer and audience the registry signs with (configuration, not provider text). */
  issuer: string;
  audience: string;
}

/** The signed document's own facts: its format, signer and validity. */
function signedFacts(v: VersionDetail): Html {
  if (v.signed.format === 'manifest') {
    const m = v.signed.signedManifest.manifest;
    return html`<dt>Format</dt><dd>ETDI signed manifest (<code>${m.type}</code>)</dd>
<dt>Issued</dt><dd>${time(m.issuedAt)}</dd>`;
  }
  const { manifest, declaration, signature } = v.signed.signedDeclaration;
  return html`<dt>Format</dt><dd>SEP-3140 declaration (spec version <code>${providerText(manifest.specVersion)}</code>), detached JWS over the capability manifest</dd>
<dt>Publisher</dt><dd><code>${providerText(manifest.publisher)}</code></dd>
<dt>Server</dt><dd><code>${providerText(manifest.server)}</code></dd>
<dt>Declared version</dt><dd><code>${providerText(declaration.version)}</code>${toPinVersion(declaration.version) === declaration.version ? '' : html` (read as ${toPinVersion(declaration.version)})`}</dd>
<dt>Content hash</dt><dd><code>${declaration.contentHash}</code></dd>
<dt>Signing key id (<code>kid</code>)</dt><dd><code>${providerText(kidOf(signature))}</code></dd>
<dt>Issued</dt><dd>${time(manifest.issuedAt)}</dd>
<dt>Expires</dt><dd>${time(manifest.expiresAt)} <span class="muted">(the registry accepted it before then)</span></dd>`;
}

/** The JWS header's kid for display; a header the registry would not have accepted shows as such. */
function kidOf(signature: string): string {
  try {
    return declarationsSignatureKid(signature);
  } catch {
    return '(unreadable header)';
  }
}

/** One version, and the panel the browser script fills with its own verification. */
export function versionPage(v: VersionDetail, trust: TrustData): string {
  return page(
    { title: `${v.toolId}@${v.version}`, page: 'version', data: { 'tool-id': v.toolId, version: v.version, issuer: trust.issuer, audience: trust.audience } },
    html`<p class="muted">Version of ${toolLink(v.toolId)} in ${namespaceLink(v.provider)}</p>
<h1><code>${providerText(v.toolId)}</code> ${v.version}</h1>
<section class="verdict" id="verify" data-status="pending" aria-labelledby="verify-h" aria-live="polite">
<h2 id="verify-h">Verified in your browser</h2>
<output id="verdict">Not verified: this check runs in your browser and needs JavaScript.</output>
<p id="verdict-detail" class="muted">Your browser fetches the ${v.signed.format === 'sep3140' ? 'signed SEP-3140 declaration' : 'signed manifest'}, the log proof and the checkpoint from the registry's API and checks them itself with WebCrypto; nothing on this page is taken on the server's word.</p>
<ul id="checks" class="checks"></ul>
<div id="log-key"></div>
</section>
<section aria-labelledby="facts-h"><h2 id="facts-h">Record</h2>
<dl class="facts">
<dt>Status</dt><dd>${statusBadge(v)}${v.revocation ? html` ${providerText(v.revocation.reason)} (${time(v.revocation.revokedAt)})` : ''}</dd>
<dt>Published</dt><dd>${time(v.publishedAt)}</dd>
<dt>Signer key</dt><dd><code>${v.signerKeyId}</code> ${v.signerKey.status === 'active' ? html`<span class="badge ok">active</span>` : html`<span class="badge bad">revoked</span>`}</dd>
${signedFacts(v)}
<dt>Definition digest</dt><dd><code>${v.definitionDigest}</code></dd>
<dt>Manifest digest</dt><dd><code>${v.manifestDigest}</code></dd>
<dt>Log entry</dt><dd><a href="${logEntryHref(v.leafIndex)}">#${v.leafIndex}</a></dd>
<dt>Approve it</dt><dd><code>etdi approve ${v.toolId}@${v.version} --registry ${trust.issuer} --lockfile etdi.lock.json</code></dd>
</dl></section>
${definitionView(v.signed)}`,
  );
}
