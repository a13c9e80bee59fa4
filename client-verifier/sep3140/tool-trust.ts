/**
 * The SEP-3140 trust facts of a verified tool, whichever way it was verified: from its server's
 * own manifest (DeclaredEvidence: the publisher trusted by the host's policy) or from the
 * registry (a published declaration: the publisher's key trusted because the registry holds it
 * for the namespace). The host's policy (`context.trust`) and risk-graduated approval read them.
 */
import { isDeclaredTool, type DeclaredEvidence } from './declared-tool.js';
import type { VerifiedEvidence } from '../evidence.js';
import { decodeTrustLabels, type EffectiveTrustLabels } from './trust-labels.js';
import type { TrustBasis } from './trust-policy.js';

export interface ToolTrust {
  /** The labels as this client reads them (absent ones at their most restrictive). */
  labels: EffectiveTrustLabels;
  publisher: string;
  /** Why the publisher's key is trusted: the host's policy, or (`registry`) its registration for the namespace. */
  basis: TrustBasis | 'registry';
}

/** Undefined for a tool of our own format (it has no trust labels). */
export function toolTrust(tool: VerifiedEvidence | DeclaredEvidence): ToolTrust | undefined {
  if (isDeclaredTool(tool)) return { labels: tool.declaration.trust, publisher: tool.declaration.publisher, basis: tool.declaration.trustBasis };
  if ('signedDeclaration' in tool) {
    const signed = tool.signedDeclaration;
    // the registry refuses labels outside the vocabulary, and the declaration is verified: absent ones read most restrictive
    return { labels: decodeTrustLabels(signed.declaration.trust).labels, publisher: signed.manifest.publisher, basis: 'registry' };
  }
  return undefined;
}
