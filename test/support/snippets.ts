// The code blocks a README marks runnable (`<!-- runnable: <name> -->` on the line before the
// fence), so that tests run them exactly as written: a README that rots fails the suite.
import { readFileSync } from 'node:fs';

export interface Snippet {
  name: string;
  lang: string;
  code: string;
}

export function runnableSnippets(path: string): Map<string, Snippet> {
  const text = readFileSync(path, 'utf8');
  const found = new Map<string, Snippet>();
  const re = /<!-- runnable: ([\w-]+) -->\n```(\w+)\n([\s\S]*?)\n```/g;
  for (const m of text.matchAll(re)) {
    if (found.has(m[1]!)) throw new Error(`${path}: two runnable snippets named ${m[1]}`);
    found.set(m[1]!, { name: m[1]!, lang: m[2]!, code: m[3]! });
  }
  return found;
}

/** A runnable snippet by name; fails the test when the README lost it. */
export function snippet(snippets: Map<string, Snippet>, name: string): Snippet {
  const s = snippets.get(name);
  if (s === undefined) throw new Error(`no runnable snippet "${name}" (marked <!-- runnable: ${name} -->)`);
  return s;
}

/**
 * One shell line of a snippet as argv, with `npx etdi` as the CLI's argv[0] marker. Only the
 * simple lines READMEs use: words, `\` line continuations, no quoting or expansion.
 */
export function shellArgv(code: string): string[] {
  const line = code.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (line.length !== 1) throw new Error(`expected one command, got ${line.length}: ${code}`);
  return line[0]!.replace(/\s+#.*$/, '').trim().split(/\s+/);
}
