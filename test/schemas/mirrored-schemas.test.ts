import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BundleSetSchema, LogEvidenceSchema, SignedManifestSchema } from '../../schemas/index.js';

/**
 * A tripwire, not a proof. Three allocation-free validators decide acceptance without zod on the
 * hot paths, each one-sided (it may only fail to accept; zod then decides): they restate these
 * schemas' rules by hand. Their own tests (refusal rows, random mutations) catch a rule they
 * miss among the cases those tests generate; this test makes any change to the schemas' JSON
 * Schema form (types, patterns, lengths, required members, enums) fail until someone has read the
 * validator again. Refinements (`.refine`) have no JSON Schema form and are not covered here.
 *
 * When it fails: review the validator named, add a refusal row for the new rule to its test, then
 * put the new fingerprint here. A zod upgrade may change the JSON Schema output, and so the
 * fingerprints, without a rule changing: review then too (zod's semantics may have moved).
 */
const SCHEMAS: Record<string, z.ZodType> = { SignedManifestSchema, BundleSetSchema, LogEvidenceSchema };
// (names, not the schema objects, go through it.each: vitest formats every argument)
const MIRRORS = [
  ['SignedManifestSchema', 'protocol/manifest-check.ts (acceptsSignedManifest)', '94c851feb4d1cd87622d4b95655375a6677cc456adf64ff2b6f7e1697353ab3b'],
  ['BundleSetSchema', 'client-verifier/bundle-check.ts (acceptsBundleSet)', '5a520dacf12ffc1287e08c4dcd36f9e4cb88e31e7219a5356f14d4487063f288'],
  ['LogEvidenceSchema', 'client-verifier/bundle-check.ts (acceptedLogEvidence)', '0ef17cb881da2f1cf2acdba5051a56eb4b19feed0dac472a3513a376be13697b'],
] as const;

const fingerprint = (schema: z.ZodType): string =>
  createHash('sha256')
    .update(JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' })))
    .digest('hex');

describe('schemas that hand-written validators mirror', () => {
  it.each(MIRRORS)('%s is the one %s was last reviewed against', (name, validator, reviewed) => {
    const now = fingerprint(SCHEMAS[name]!);
    expect(now, `${name} changed: review ${validator} and its test, then record ${now} here`).toBe(reviewed);
  });

  it('notices a changed rule (the fingerprint covers lengths, patterns and members)', () => {
    const base = z.strictObject({ id: z.string().max(8) });
    expect(fingerprint(base.extend({ id: z.string().max(9) }))).not.toBe(fingerprint(base));
    expect(fingerprint(base.extend({ id: z.string().max(8).regex(/^a/) }))).not.toBe(fingerprint(base));
    expect(fingerprint(base.extend({ extra: z.string() }))).not.toBe(fingerprint(base));
  });
});
