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
