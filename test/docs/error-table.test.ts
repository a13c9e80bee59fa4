// docs/REST-API.md's table of problem codes by HTTP status agrees with the one code table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode } from '../../protocol/index.js';

const doc = readFileSync(new URL('../../docs/REST-API.md', import.meta.url), 'utf8');
const rows = [...doc.matchAll(/^\| (\d{3}) \| (.+) \|$/gm)].flatMap((m) => [...m[2]!.matchAll(/`([A-Z_]+)`/g)].map((c) => [c[1]!, Number(m[1])] as const));

describe('docs/REST-API.md problem codes', () => {
  it('lists codes', () => expect(rows.length).toBeGreaterThan(30));
  it.each(rows)('%s is served with %i, as the code table says', (code, status) => {
    expect(isErrorCode(code)).toBe(true);
    if (isErrorCode(code)) expect(ERROR_CODES[code].status).toBe(status);
  });
});

// docs/VERIFIER.md's table of the SEP-3140 codes (code, status, kind) agrees with the one code table.
const verifierDoc = readFileSync(new URL('../../docs/VERIFIER.md', import.meta.url), 'utf8');
const verifierRows = [...verifierDoc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (refusal|usage|operational) \|/gm)].map((m) => [m[1]!, Number(m[2]), m[3]!] as const);

describe('docs/VERIFIER.md SEP-3140 codes', () => {
  it('lists the SEP-3140 codes', () => expect(verifierRows.map((r) => r[0]).sort()).toEqual(['DISCOVERY_FAILED', 'DISCOVERY_REFUSED', 'MANIFEST_EXPIRED', 'SIGNER_CHANGED', 'UNKNOWN_TRUST_LABEL', 'WRONG_SERVER']));
  it.each(verifierRows)('%s is %i, %s, as the code table says', (code, status, kind) => {
    expect(isErrorCode(code)).toBe(true);
    if (isErrorCode(code)) expect(ERROR_CODES[code]).toEqual({ status, kind });
  });
});
