/**
 * Risk-graduated approval from SEP-3140 trust labels ("drive risk-graduated approval: auto-allow
 * read-only → approve writes-data → block/escalate destructive"): a host names the labels of the
 * tools it approves on first use without asking; every other tool is always asked about, every
 * version. The labels are the verified ones (covered by the manifest signature through the
 * content hash), read most restrictively where absent or unknown.
 */
import type { PinDecision } from '../pins.js';
import type { EffectiveTrustLabels, TrustDataSensitivity, TrustEffect, TrustEgress } from './trust-labels.js';

export interface RiskApprovalRule {
  /**
   * A tool whose labels are all in these sets is approved on first use (pinned without asking),
   * and so are its newer versions that escalate nothing. `egress` and `dataSensitivity` left out
   * accept any value. Every other tool is asked about for every version: neither `newVersion:
   * 'allow'` nor `cosmeticUpdates: 'allow'` passes it.
   * Example: `{ effect: ['read-only'], egress: ['none', 'internal'] }`.
   */
  approveOnFirstUse: {
    effect: readonly TrustEffect[];
    egress?: readonly TrustEgress[];
    dataSensitivity?: readonly TrustDataSensitivity[];
  };
}

/** Whether a tool's labels are within the tier the host approves on first use. */
export function isLowRisk(labels: EffectiveTrustLabels, rule: RiskApprovalRule): boolean {
  const tier = rule.approveOnFirstUse;
  return tier.effect.includes(labels.effect) && (tier.egress?.includes(labels.egress) ?? true) && (tier.dataSensitivity?.includes(labels.dataSensitivity) ?? true);
}

/** What the rule does to a pin decision: approve now, ask although an option would pass it, or nothing. */
export function riskVerdict(decision: PinDecision, labels: EffectiveTrustLabels, rule: RiskApprovalRule): 'approve' | 'ask' | 'as-decided' {
  const low = isLowRisk(labels, rule);
  if (low && decision.status === 'needs-approval' && (decision.code === 'NEEDS_APPROVAL' || decision.code === 'NEW_VERSION')) return 'approve';
  if (!low && decision.status === 'approved' && decision.upgrade !== undefined) return 'ask';
  return 'as-decided';
}
