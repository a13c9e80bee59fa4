import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalize, sameJson } from '../../protocol/index.js';

/** A deep copy whose objects list their keys in reverse order (a server's own order). */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  // defineProperty: an own "__proto__" member (JSON.parse makes one) must stay a member
  for (const key of Object.keys(value).reverse())
    Object.defineProperty(out, key, { value: reordered((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
  return out;
}

const canonicalOrUndefined = (value: unknown): string | undefined => {
  try {
    return canonicalize(value);
  } catch {
    return undefined;
  }
};

describe('sameJson', () => {
  describe('when the value is the trusted one in another key order', () => {
    it('is true, and the canonical forms agree (property)', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (trusted) => {
          fc.pre(canonicalOrUndefined(trusted) !== undefined);
          const value = reordered(trusted);
          expect(sameJson(value, trusted)).toBe(true);
          expect(canonicalize(value)).toBe(canonicalize(trusted));
        }),
      );
    });
  });

  describe('when two JSON values are compared', () => {
    it('is true exactly when their canonical forms are equal (property)', () => {
      const pair = fc.jsonValue().chain((a) => fc.tuple(fc.constant(a), fc.oneof(fc.jsonValue(), fc.constant(reordered(a)))));
      fc.assert(
        fc.property(pair, ([value, trusted]) => {
          const t = canonicalOrUndefined(trusted);
          fc.pre(t !== undefined);
          expect(sameJson(value, trusted)).toBe(canonicalOrUndefined(value) === t);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('when the value has something JCS refuses or reads differently', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const hidden = Object.defineProperty({}, 'a', { value: 1, enumerable: false });
    const cyclic: Record<string, unknown> = { a: {} };
    (cyclic.a as Record<string, unknown>).a = cyclic;
    it.each([
      ['an extra member whose value is undefined', { a: 1, b: undefined }, { a: 1 }],
      ['a Date where a string was signed', { at: new Date(0) }, { at: '1970-01-01T00:00:00.000Z' }],
      ['a class instance with the same own keys', new Point(1), { x: 1 }],
      ['a non-enumerable key', hidden, { a: 1 }],
      ['an object with index keys where an array was signed', { 0: 'x', length: 1 }, ['x']],
      ['an array where an object was signed', ['x'], { 0: 'x' }],
      ['NaN where a number was signed', { n: Number.NaN }, { n: 0 }],
      ['a number where a string was signed', { n: 1 }, { n: '1' }],
      ['a cyclic value against a finite one', cyclic, { a: { a: { a: {} } } }],
      ['a missing member', { a: 1 }, { a: 1, b: null }],
    ])('is false for %s', (_name, value, trusted) => {
      expect(sameJson(value, trusted)).toBe(false);
    });

    it('compares an own "__proto__" member as a member (JSON.parse makes one)', () => {
      const trusted = JSON.parse('[{"__proto__": null, "a": 1}]') as unknown;
      expect(sameJson(JSON.parse('[{"a": 1, "__proto__": null}]'), trusted)).toBe(true);
      expect(sameJson([{ a: 1 }], trusted)).toBe(false);
    });

    it('treats -0 as 0, as JCS does', () => {
      expect(sameJson({ n: -0 }, { n: 0 })).toBe(true);
      expect(canonicalize({ n: -0 })).toBe(canonicalize({ n: 0 }));
    });
  });
});
