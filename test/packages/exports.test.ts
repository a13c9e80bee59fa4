/**
 * The public names of every package entry point (issue 15): a change to them is a deliberate
 * diff of public-api.json, reviewed like any API change, never a side effect of an export added
 * for convenience. Nothing that switches a check off may appear here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProtocolError as FromSources } from '../../protocol/errors.js';

const EXPECTED = JSON.parse(readFileSync(new URL('./public-api.json', import.meta.url), 'utf8')) as Record<string, string[]>;

const ENTRY_POINTS: Record<string, () => Promise<Record<string, unknown>>> = {
  '@etdi/schemas': () => import('@etdi/schemas'),
  '@etdi/protocol': () => import('@etdi/protocol'),
  '@etdi/protocol/node': () => import('@etdi/protocol/node'),
  '@etdi/client': () => import('@etdi/client'),
  '@etdi/client/node': () => import('@etdi/client/node'),
  '@etdi/client/policy': () => import('@etdi/client/policy'),
  '@etdi/provider': () => import('@etdi/provider'),
  '@etdi/registry': () => import('@etdi/registry'),
};

describe('package entry points', () => {
  it('the list covers every entry point', () => {
    expect(Object.keys(ENTRY_POINTS).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.keys(ENTRY_POINTS))('%s exports exactly its public names', async (entry) => {
    const names = Object.keys(await ENTRY_POINTS[entry]!()).sort();
    expect(names).toEqual(EXPECTED[entry]);
  });

  it('no entry point exports a way to mark a document validated without validating it', async () => {
    for (const load of Object.values(ENTRY_POINTS)) expect(Object.keys(await load()).filter((n) => /markValidated|skip|unsafe|disable/i.test(n))).toEqual([]);
  });

  it('tests load the packages from their TypeScript sources (the etdi-source condition), not a stale dist/', async () => {
    const { ProtocolError } = await import('@etdi/protocol');
    expect(ProtocolError).toBe(FromSources);
  });
});
