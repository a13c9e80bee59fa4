import type * as CedarWasm from '@cedar-policy/cedar-wasm/nodejs';

/**
 * The part of Cedar's own engine (`@cedar-policy/cedar-wasm`) the policy layer calls. The Node
 * build is loaded by default; a browser or edge host passes the `web` build's namespace (after its
 * `init()`) as `cedar` in the options, which is why this is a structural type and not an import.
 */
export type CedarModule = Pick<
  typeof CedarWasm,
  | 'policySetTextToParts'
  | 'policyToJson'
  | 'checkParsePolicySet'
  | 'checkParseSchema'
  | 'validate'
  | 'preparsePolicySet'
  | 'statefulIsAuthorized'
  | 'isAuthorized'
  | 'getCedarVersion'
>;

export type {
  AuthorizationAnswer as CedarAuthorizationAnswer,
  DetailedError as CedarDetailedError,
  EntityJson as CedarEntityJson,
  CedarValueJson,
  Schema as CedarSchema,
} from '@cedar-policy/cedar-wasm/nodejs';

let nodeCedar: Promise<CedarModule> | undefined;

/** Loads the Node build of Cedar once (it compiles its wasm synchronously on first import). */
export function loadCedar(): Promise<CedarModule> {
  nodeCedar ??= import('@cedar-policy/cedar-wasm/nodejs').then((m) => m as unknown as CedarModule);
  return nodeCedar;
}
