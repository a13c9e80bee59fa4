import { HostPolicyConfigFileSchema, type HostPolicyConfig } from '@etdi/schemas';
import { VerificationError } from '../errors.js';

/**
 * Reads a host policy configuration file (JSON, docs/POLICIES.md) and the Cedar files it names,
 * relative to its own directory, into the options PolicyEngine.create takes. Node only: it
 * imports node:fs lazily, so the rest of the policy layer still loads in a browser.
 */
export async function loadHostPolicyConfig(path: string): Promise<HostPolicyConfig> {
  if (typeof path !== 'string') throw new TypeError('path must be a string');
  const { readFile } = await import('node:fs/promises');
  const { dirname, resolve, basename } = await import('node:path');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new VerificationError('SCHEMA_INVALID', `cannot read host policy configuration ${path}: ${String(cause)}`, { path }, { cause });
  }
  const parsed = HostPolicyConfigFileSchema.safeParse(raw);
  if (!parsed.success)
    throw new VerificationError('SCHEMA_INVALID', `host policy configuration ${path} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, {
      path,
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  const { policies, ...rest } = parsed.data;
  const config: HostPolicyConfig = { ...rest };
  if (policies !== undefined) {
    const base = dirname(path);
    config.policies = [];
    for (const source of policies) {
      if ('text' in source) {
        config.policies.push(source);
        continue;
      }
      const file = resolve(base, source.file);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (cause) {
        throw new VerificationError('SCHEMA_INVALID', `cannot read host policy file ${file}: ${String(cause)}`, { path: file }, { cause });
      }
      config.policies.push({ id: source.id ?? basename(source.file), text });
    }
  }
  return config;
}
