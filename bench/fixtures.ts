import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The real tools/list fixtures (test/fixtures/real-tools), read from the source tree. */
export function realToolsFixture(server: string): unknown[] {
  // dist/bench/ -> ../../test/fixtures
  const path = fileURLToPath(new URL(`../../test/fixtures/real-tools/${server}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as unknown[];
}
