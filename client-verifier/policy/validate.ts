import { ToolPolicySchema, type ToolPolicy } from '@etdi/schemas';
import { loadCedar, type CedarModule, type CedarSchema } from './cedar.js';
import { splitPolicySet, toDiagnostics, type NamedPolicy, type PolicyDiagnostic } from './policy-set.js';

export type PolicyValidationResult = { ok: true } | { ok: false; diagnostics: PolicyDiagnostic[] };

/**
 * Checks a policy set (and, when given, validates it against a Cedar JSON schema in strict mode)
 * with Cedar's own parser and validator. Shared by validateToolPolicy (the registry at publish)
 * and PolicyEngine.create (the host's policies at start).
 */
export function checkPolicySet(
  cedar: CedarModule,
  text: string,
  schema: CedarSchema | undefined,
): { ok: true; policies: NamedPolicy[] } | { ok: false; diagnostics: PolicyDiagnostic[] } {
  const split = splitPolicySet(cedar, text);
  if (!split.ok || schema === undefined) return split;
  try {
    const parsed = cedar.checkParseSchema(schema);
    if (parsed.type === 'failure')
      return { ok: false, diagnostics: toDiagnostics(parsed.errors).map((d) => ({ ...d, message: `schema: ${d.message}` })) };
    const answer = cedar.validate({
      schema,
      policies: { staticPolicies: Object.fromEntries(split.policies.map((p) => [p.id, p.text])) },
      validationSettings: { mode: 'strict' },
    });
    if (answer.type === 'failure') return { ok: false, diagnostics: toDiagnostics(answer.errors) };
    if (answer.validationErrors.length > 0) {
      const byId = new Map(split.policies.map((p) => [p.id, p.text]));
      return {
        ok: false,
        diagnostics: answer.validationErrors.flatMap((e) => toDiagnostics([e.error], byId.get(e.policyId), e.policyId)),
      };
    }
  } catch (cause) {
    return { ok: false, diagnostics: [{ message: `Cedar could not validate the policy set: ${String(cause)}` }] };
  }
  return split;
}

/**
 * Is this tool policy (from a manifest about to be published) acceptable? It must match the
 * ToolPolicy schema, parse as a Cedar policy set with unique ids and no templates, and, when it
 * carries a Cedar schema, validate against it (strict mode). The registry refuses a publish with
 * 422 and these diagnostics otherwise; a client evaluates only what parses, and denies the rest.
 */
export async function validateToolPolicy(
  policy: ToolPolicy,
): Promise<{ ok: true } | { ok: false; diagnostics: PolicyDiagnostic[] }> {
  const shape = ToolPolicySchema.safeParse(policy);
  if (!shape.success)
    return {
      ok: false,
      diagnostics: shape.error.issues.map((i) => ({ message: `${i.path.join('.') || '(policy)'}: ${i.message}` })),
    };
  const cedar = await loadCedar();
  const result = checkPolicySet(cedar, shape.data.policies, shape.data.schema as CedarSchema | undefined);
  return result.ok ? { ok: true } : { ok: false, diagnostics: result.diagnostics };
}
