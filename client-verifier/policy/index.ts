export { PolicyEngine } from './engine.js';
export { validateToolPolicy, type PolicyValidationResult } from './validate.js';
export { etdiCedarSchema } from './cedar-schema.js';
export { loadHostPolicyConfig } from './host-config-file.js';
export { loadCedar, type CedarModule } from './cedar.js';
export { compileToolPattern, DEFAULT_MAX_DEPTH } from './constraints.js';
export type { PolicyDiagnostic } from './policy-set.js';
export type { InvocationRequest, PolicyDecision, PolicyEngineOptions, TrustContext } from './types.js';
// What the policy benchmark measures step by step (bench/policy.bench.ts).
export { emptyReadSet, fullReadSet, mergeReadSets, readSetOf } from './reads.js';
export { Calendar, toCedarRequest } from './request.js';
