import type { CedarDetailedError, CedarModule } from './cedar.js';
import { readSetOf, type ReadSet } from './reads.js';

/** One finding about a policy text: what is wrong, where, and which policy. */
export interface PolicyDiagnostic {
  message: string;
  policyId?: string;
  help?: string;
}

export type PolicyEffect = 'permit' | 'forbid';

export interface NamedPolicy {
  /** The policy's `@id("...")` annotation, else Cedar's own default id (`policy0`, `policy1`, ...). */
  id: string;
  text: string;
  effect: PolicyEffect;
  /** The request attributes the policy can read (reads.ts). */
  reads: ReadSet;
}

export type SplitResult = { ok: true; policies: NamedPolicy[] } | { ok: false; diagnostics: PolicyDiagnostic[] };

/** 1-based line and column of a UTF-16 offset, for diagnostics a person can find. */
function lineCol(text: string, offset: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      col = 1;
    } else col++;
  }
  return `${line}:${col}`;
}

/** Cedar's errors as diagnostics; `text` (when the offsets refer to it) adds line:column. */
export function toDiagnostics(errors: readonly CedarDetailedError[], text?: string, policyId?: string): PolicyDiagnostic[] {
  return errors.map((e) => {
    const loc = text !== undefined && e.sourceLocations?.[0] ? ` (at ${lineCol(text, e.sourceLocations[0].start)})` : '';
    const d: PolicyDiagnostic = { message: `${e.message}${loc}` };
    if (policyId !== undefined) d.policyId = policyId;
    if (e.help) d.help = e.help;
    return d;
  });
}

/**
 * Splits a Cedar policy-set text into its policies and names each one. Names come from the
 * policy's `@id` annotation, else are Cedar's own default ids, so that a decision's policy ids
 * are the ones an author sees in Cedar's tools. Refuses what would make a decision ambiguous or
 * inert: two policies with the same id, templates (never linked here, so they would silently
 * decide nothing) and a text without any policy.
 */
export function splitPolicySet(cedar: CedarModule, text: string): SplitResult {
  let parts: ReturnType<CedarModule['policySetTextToParts']>;
  try {
    parts = cedar.policySetTextToParts(text);
  } catch (cause) {
    // wasm traps and binding errors are hostile-input failures too: answer with a diagnostic
    return { ok: false, diagnostics: [{ message: `Cedar could not parse the policy set: ${String(cause)}` }] };
  }
  if (parts.type === 'failure') return { ok: false, diagnostics: toDiagnostics(parts.errors, text) };
  const diagnostics: PolicyDiagnostic[] = [];
  if (parts.policy_templates.length > 0)
    diagnostics.push({
      message: `the policy set contains ${parts.policy_templates.length} template(s); templates are not supported (they are never linked, so they would decide nothing)`,
    });
  if (parts.policies.length === 0) diagnostics.push({ message: 'the policy set contains no policy (it would deny every call)' });
  // Cedar names unannotated policies policy0..policyN-1 and returns them sorted by that id as a
  // string (policy10 before policy2); sorting the same names the same way recovers each one's id.
  const defaultIds = Array.from({ length: parts.policies.length }, (_, i) => `policy${i}`).sort();
  const seen = new Set<string>();
  const policies: NamedPolicy[] = [];
  parts.policies.forEach((policyText, k) => {
    let json: ReturnType<CedarModule['policyToJson']>;
    try {
      json = cedar.policyToJson(policyText);
    } catch (cause) {
      diagnostics.push({ message: `Cedar could not read policy ${defaultIds[k]}: ${String(cause)}`, policyId: defaultIds[k]! });
      return;
    }
    if (json.type === 'failure') {
      diagnostics.push(...toDiagnostics(json.errors, policyText, defaultIds[k]));
      return;
    }
    const id = json.json.annotations?.['id'] ?? defaultIds[k]!;
    if (seen.has(id)) diagnostics.push({ message: `two policies have the id "${id}"; policy ids must be unique`, policyId: id });
    seen.add(id);
    policies.push({ id, text: policyText, effect: json.json.effect, reads: readSetOf(json.json) });
  });
  return diagnostics.length > 0 ? { ok: false, diagnostics } : { ok: true, policies };
}
