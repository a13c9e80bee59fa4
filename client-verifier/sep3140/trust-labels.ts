/**
 * SEP-3140 trust labels as this client reads them. The vocabulary is closed (schemas/sep3140.ts,
 * TrustLabelsSchema); each label is decoded with that schema's own member, so the rule lives in
 * one place. What a tool leaves out, or says in words outside the vocabulary, reads as the most
 * restrictive value ("unknown values → treated as most-restrictive by the client").
 */
import { TRUST_DATA_SENSITIVITY, TRUST_EFFECTS, TRUST_EGRESS, TrustLabelsSchema } from '@etdi/schemas';

export type TrustEffect = (typeof TRUST_EFFECTS)[number];
export type TrustEgress = (typeof TRUST_EGRESS)[number];
export type TrustDataSensitivity = (typeof TRUST_DATA_SENSITIVITY)[number];

/** Every label with a value: what policies and approval rules see. */
export interface EffectiveTrustLabels {
  effect: TrustEffect;
  egress: TrustEgress;
  dataSensitivity: TrustDataSensitivity;
  reversible: boolean;
  idempotent: boolean;
}

export type TrustLabelName = keyof EffectiveTrustLabels;

/** The most restrictive reading of each label: the last of each ordered vocabulary, and `false`. */
export const MOST_RESTRICTIVE_TRUST: Readonly<EffectiveTrustLabels> = Object.freeze({
  effect: 'destructive',
  egress: 'external',
  dataSensitivity: 'secret',
  reversible: false,
  idempotent: false,
});

const LABELS = Object.keys(MOST_RESTRICTIVE_TRUST) as TrustLabelName[];

export interface DecodedTrustLabels {
  /** The labels as this client reads them (absent or unknown: most restrictive). */
  labels: EffectiveTrustLabels;
  /** Labels the tool declared with a value in the vocabulary. */
  declared: TrustLabelName[];
  /** Members outside the vocabulary (`label=value`, or a member name the block may not have). */
  unknown: string[];
}

/**
 * Reads a declaration's `trust` block. Never throws for hostile input: an unknown value or member
 * is listed in `unknown` (the caller decides between refusing it and the most restrictive reading).
 */
export function decodeTrustLabels(trust: unknown): DecodedTrustLabels {
  const labels: EffectiveTrustLabels = { ...MOST_RESTRICTIVE_TRUST };
  const declared: TrustLabelName[] = [];
  const unknown: string[] = [];
  if (trust === undefined) return { labels, declared, unknown };
  if (trust === null || typeof trust !== 'object' || Array.isArray(trust)) return { labels, declared, unknown: [`trust=${JSON.stringify(trust)}`] };
  const shape = TrustLabelsSchema.shape;
  for (const [name, value] of Object.entries(trust)) {
    if (!Object.hasOwn(shape, name)) {
      unknown.push(name);
      continue;
    }
    const label = name as TrustLabelName;
    const parsed = shape[label].safeParse(value);
    if (parsed.success && parsed.data !== undefined) {
      (labels as unknown as Record<string, unknown>)[label] = parsed.data;
      declared.push(label);
    } else unknown.push(`${label}=${JSON.stringify(value)}`);
  }
  return { labels, declared, unknown };
}

/** How restrictive a label's value is: its place in the ordered vocabulary (false counts above true). */
export function restrictiveness(label: TrustLabelName, value: string | boolean): number {
  switch (label) {
    case 'effect':
      return TRUST_EFFECTS.indexOf(value as TrustEffect);
    case 'egress':
      return TRUST_EGRESS.indexOf(value as TrustEgress);
    case 'dataSensitivity':
      return TRUST_DATA_SENSITIVITY.indexOf(value as TrustDataSensitivity);
    case 'reversible':
    case 'idempotent':
      return value === false ? 1 : 0;
  }
}

export interface TrustLabelChange {
  label: TrustLabelName;
  from: string | boolean;
  to: string | boolean;
}

/** The labels whose effective value moved, split by direction (riskier: more restrictive reading). */
export function compareTrustLabels(before: EffectiveTrustLabels, after: EffectiveTrustLabels): { riskier: TrustLabelChange[]; safer: TrustLabelChange[] } {
  const riskier: TrustLabelChange[] = [];
  const safer: TrustLabelChange[] = [];
  for (const label of LABELS) {
    const from = before[label];
    const to = after[label];
    if (from === to) continue;
    (restrictiveness(label, to) > restrictiveness(label, from) ? riskier : safer).push({ label, from, to });
  }
  return { riskier, safer };
}
