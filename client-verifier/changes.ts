import type { PinnedHints, ToolManifest } from '@etdi/schemas';
import { canonicalize } from '@etdi/protocol';
import { compareTrustLabels, decodeTrustLabels, type TrustLabelChange } from './sep3140/trust-labels.js';

export type HintName = 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint';

/**
 * MCP defaults for absent hints (MCP spec, ToolAnnotations): a tool that says nothing is
 * assumed to write, to be destructive, not idempotent and open-world. Comparing effective
 * values means dropping `readOnlyHint: true` counts as becoming riskier.
 */
const HINT_DEFAULTS: Record<HintName, boolean> = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
};

/** The value of each hint that is the risky one (docs/THREAT-MODEL.md, permission escalation). */
const RISKY_VALUE: Record<HintName, boolean> = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
};

export interface HintChange {
  hint: HintName;
  from: boolean;
  to: boolean;
}

/** What changed between an approved version and another one, field by field. */
export interface ToolChanges {
  permissionsAdded: string[];
  permissionsRemoved: string[];
  /** Hints whose effective value moved to the risky side. */
  riskierAnnotations: HintChange[];
  /** Hints whose effective value moved to the safe side. */
  saferAnnotations: HintChange[];
  /** Whether the previous definition was known (else the fields below are not computed). */
  definitionCompared: boolean;
  inputParamsAdded: string[];
  inputParamsRemoved: string[];
  inputParamsNewlyRequired: string[];
  inputSchemaChanged: boolean;
  descriptionChanged: boolean;
  titleChanged: boolean;
  iconsChanged: boolean;
  outputSchemaChanged: boolean;
  /**
   * SEP-3140 trust labels whose effective value (absent or unknown: most restrictive) moved to
   * the more restrictive side, or to the less restrictive one. Compared with the definitions.
   */
  riskierTrustLabels: TrustLabelChange[];
  saferTrustLabels: TrustLabelChange[];
  /** Top-level definition fields (other than the above) that were added, removed or changed. */
  otherFieldsChanged: string[];
  policyChanged: boolean;
  /**
   * What docs/THREAT-MODEL.md lists under permission escalation: more permissions, riskier
   * annotations or trust labels, new or newly required input parameters, a changed policy.
   * Needs re-approval as PERMISSION_ESCALATION (also under `newVersion: 'allow'`).
   */
  escalation: boolean;
  /**
   * Nothing but cosmetic fields changed (SEP-3140, "Change semantics": a change to `title` or
   * `icons` is not material; everything else is): the approved definition was compared and
   * only its title or icons differ, with the same permissions, hints, labels and policy.
   */
  cosmeticOnly: boolean;
}

/** What the classifier needs about the approved version: the pin always has these. */
export interface PreviousVersion {
  permissions: readonly string[];
  hints: PinnedHints;
  /** The approved definition, when known (registry or cache); enables the field-level diff. */
  definition?: Record<string, unknown>;
  /** The approved policy (compared only when `definition` is given: both come from the approved manifest). */
  policy?: unknown;
}

/** The four hints as declared (absent ones stay absent). */
export function hintsOf(definition: { annotations?: unknown }): PinnedHints {
  const a = (definition.annotations ?? {}) as Record<string, unknown>;
  const out: PinnedHints = {};
  for (const hint of Object.keys(HINT_DEFAULTS) as HintName[]) if (typeof a[hint] === 'boolean') out[hint] = a[hint];
  return out;
}

const same = (a: unknown, b: unknown): boolean => {
  if (a === undefined || b === undefined) return a === b;
  return canonicalize(a) === canonicalize(b);
};

function schemaParts(schema: unknown): { props: Set<string>; required: Set<string> } {
  const s = (schema ?? {}) as { properties?: unknown; required?: unknown };
  const props = new Set(s.properties !== null && typeof s.properties === 'object' ? Object.keys(s.properties) : []);
  const required = new Set(Array.isArray(s.required) ? s.required.filter((r): r is string => typeof r === 'string') : []);
  return { props, required };
}

const KNOWN_FIELDS = new Set(['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations', 'icons', 'trust']);

/**
 * Classifies the change from an approved version to `next`. The input parameters and the policy
 * are compared only when the approved definition is known (`definitionCompared`); a caller that
 * does not know it must not treat the absence of escalation as proven (pins.ts asks instead).
 */
export function classifyChanges(previous: PreviousVersion, next: Pick<ToolManifest, 'definition' | 'permissions' | 'policy'>): ToolChanges {
  const before = new Set(previous.permissions);
  const after = new Set(next.permissions);
  const permissionsAdded = [...after].filter((p) => !before.has(p)).sort();
  const permissionsRemoved = [...before].filter((p) => !after.has(p)).sort();

  const nextHints = hintsOf(next.definition);
  const riskierAnnotations: HintChange[] = [];
  const saferAnnotations: HintChange[] = [];
  for (const hint of Object.keys(HINT_DEFAULTS) as HintName[]) {
    const from = previous.hints[hint] ?? HINT_DEFAULTS[hint];
    const to = nextHints[hint] ?? HINT_DEFAULTS[hint];
    if (from === to) continue;
    (to === RISKY_VALUE[hint] ? riskierAnnotations : saferAnnotations).push({ hint, from, to });
  }

  const prev = previous.definition;
  const def = next.definition as Record<string, unknown>;
  let inputParamsAdded: string[] = [];
  let inputParamsRemoved: string[] = [];
  let inputParamsNewlyRequired: string[] = [];
  const otherFieldsChanged: string[] = [];
  if (prev !== undefined) {
    const a = schemaParts(prev.inputSchema);
    const b = schemaParts(def.inputSchema);
    inputParamsAdded = [...b.props].filter((p) => !a.props.has(p)).sort();
    inputParamsRemoved = [...a.props].filter((p) => !b.props.has(p)).sort();
    inputParamsNewlyRequired = [...b.required].filter((p) => !a.required.has(p)).sort();
    for (const key of new Set([...Object.keys(prev), ...Object.keys(def)]))
      if (!KNOWN_FIELDS.has(key) && !same(prev[key], def[key])) otherFieldsChanged.push(key);
    otherFieldsChanged.sort();
  }
  const annotationsChanged = prev !== undefined && !same(prev.annotations, def.annotations);
  if (annotationsChanged && riskierAnnotations.length === 0 && saferAnnotations.length === 0) otherFieldsChanged.push('annotations');
  // A policy restricts what a call may do: any change to it (added, removed, rewritten) may relax it.
  const policyChanged = prev !== undefined && !same(previous.policy, next.policy);
  const trust = prev !== undefined ? compareTrustLabels(decodeTrustLabels(prev.trust).labels, decodeTrustLabels(def.trust).labels) : { riskier: [], safer: [] };
  // Labels are compared by their effective reading; a block rewritten to the same reading is still a material change.
  if (prev !== undefined && trust.riskier.length === 0 && trust.safer.length === 0 && !same(prev.trust, def.trust)) otherFieldsChanged.push('trust');
  const inputSchemaChanged = prev !== undefined && !same(prev.inputSchema, def.inputSchema);
  const descriptionChanged = prev !== undefined && prev.description !== def.description;
  const outputSchemaChanged = prev !== undefined && !same(prev.outputSchema, def.outputSchema);
  const escalation =
    permissionsAdded.length > 0 ||
    riskierAnnotations.length > 0 ||
    trust.riskier.length > 0 ||
    inputParamsAdded.length > 0 ||
    inputParamsNewlyRequired.length > 0 ||
    policyChanged;

  return {
    permissionsAdded,
    permissionsRemoved,
    riskierAnnotations,
    saferAnnotations,
    definitionCompared: prev !== undefined,
    inputParamsAdded,
    inputParamsRemoved,
    inputParamsNewlyRequired,
    inputSchemaChanged,
    descriptionChanged,
    titleChanged: prev !== undefined && prev.title !== def.title,
    iconsChanged: prev !== undefined && !same(prev.icons, def.icons),
    outputSchemaChanged,
    riskierTrustLabels: trust.riskier,
    saferTrustLabels: trust.safer,
    otherFieldsChanged,
    policyChanged,
    escalation,
    cosmeticOnly:
      prev !== undefined &&
      !escalation &&
      permissionsRemoved.length === 0 &&
      saferAnnotations.length === 0 &&
      trust.safer.length === 0 &&
      inputParamsRemoved.length === 0 &&
      !inputSchemaChanged &&
      !descriptionChanged &&
      !outputSchemaChanged &&
      otherFieldsChanged.length === 0,
  };
}

/** One line per growth, for PERMISSION_ESCALATION messages ("permission files:write added"). */
export function describeEscalation(changes: ToolChanges): string[] {
  return [
    ...changes.permissionsAdded.map((p) => `permission ${p} added`),
    ...changes.riskierAnnotations.map((h) => `${h.hint} ${h.from} -> ${h.to}`),
    ...changes.riskierTrustLabels.map((t) => `trust ${t.label} ${String(t.from)} -> ${String(t.to)}`),
    ...changes.inputParamsAdded.map((p) => `input parameter ${p} added`),
    ...changes.inputParamsNewlyRequired.filter((p) => !changes.inputParamsAdded.includes(p)).map((p) => `input parameter ${p} now required`),
    ...(changes.policyChanged ? ['policy changed'] : []),
  ];
}

/** A reviewer's reading of what changed (one line each), used by diff and approve. */
export function describeChanges(changes: ToolChanges, texts?: { before?: string; after?: string }): string[] {
  const lines: string[] = [];
  for (const p of changes.permissionsAdded) lines.push(`+ permission ${p}`);
  for (const p of changes.permissionsRemoved) lines.push(`- permission ${p}`);
  for (const h of changes.riskierAnnotations) lines.push(`! ${h.hint}: ${h.from} -> ${h.to} (riskier)`);
  for (const h of changes.saferAnnotations) lines.push(`  ${h.hint}: ${h.from} -> ${h.to} (safer)`);
  for (const t of changes.riskierTrustLabels) lines.push(`! trust ${t.label}: ${String(t.from)} -> ${String(t.to)} (riskier)`);
  for (const t of changes.saferTrustLabels) lines.push(`  trust ${t.label}: ${String(t.from)} -> ${String(t.to)} (safer)`);
  if (changes.definitionCompared) {
    for (const p of changes.inputParamsAdded) lines.push(`+ input parameter "${p}"`);
    for (const p of changes.inputParamsRemoved) lines.push(`- input parameter "${p}"`);
    for (const p of changes.inputParamsNewlyRequired) lines.push(`! input parameter "${p}" is now required`);
    if (changes.inputSchemaChanged && changes.inputParamsAdded.length + changes.inputParamsRemoved.length + changes.inputParamsNewlyRequired.length === 0)
      lines.push('~ input schema changed (types, formats or constraints)');
    if (changes.outputSchemaChanged) lines.push('~ output schema changed');
    if (changes.titleChanged) lines.push('~ title changed (cosmetic)');
    if (changes.iconsChanged) lines.push('~ icons changed (cosmetic)');
    if (changes.descriptionChanged) {
      lines.push(texts ? '~ description changed (what the model reads):' : '~ description changed (what the model reads)');
      if (texts?.before !== undefined) lines.push(...texts.before.split('\n').map((l) => `    - ${l}`));
      if (texts?.after !== undefined) lines.push(...texts.after.split('\n').map((l) => `    + ${l}`));
    }
    for (const f of changes.otherFieldsChanged) lines.push(`~ field ${f} changed`);
  } else lines.push('  (the approved definition is not available: only permissions and hints compared)');
  if (changes.policyChanged) lines.push('~ policy changed');
  if (lines.length === 0) lines.push('  no visible change');
  return lines;
}
