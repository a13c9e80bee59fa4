import { usage } from './errors.js';

/** `com.acme/tool@1.2.3` -> { toolId: 'com.acme/tool', version: '1.2.3' }; the version is optional. */
export function splitToolRef(verb: string, ref: string | undefined): { toolId: string; version: string | undefined } {
  if (ref === undefined) throw usage(verb, 'give a tool id (namespace/tool-name[@version])');
  const at = ref.lastIndexOf('@');
  const toolId = at > 0 ? ref.slice(0, at) : ref;
  const version = at > 0 ? ref.slice(at + 1) : undefined;
  if (!/^[a-z0-9.-]+\/[A-Za-z0-9_.-]{1,128}$/.test(toolId)) throw usage(verb, `"${toolId}" is not a tool id (namespace/tool-name)`);
  return { toolId, version };
}
