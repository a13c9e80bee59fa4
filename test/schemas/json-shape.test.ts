import { describe, expect, it } from 'vitest';
import { jsonShape, LIMITS, ToolDefinitionSchema, withJsonShapeBound } from '../../schemas/index.js';

const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : { n: nest(depth - 1) });
const deep = { name: 'deep', inputSchema: { type: 'object', properties: nest(LIMITS.maxDepth) } };
const within = { depth: 3, longestString: 10 };

describe('withJsonShapeBound', () => {
  describe('when the bound proves the limits', () => {
    it('lets the definition schema skip its walk, for the check it wraps only', () => {
      // A bound that does not describe the value is a caller's lie: used here only to show the skip.
      expect(withJsonShapeBound(within, () => ToolDefinitionSchema.safeParse(deep).success)).toBe(true);
      expect(ToolDefinitionSchema.safeParse(deep).success).toBe(false);
    });

    it('drops the bound when the check throws', () => {
      expect(() =>
        withJsonShapeBound(within, () => {
          throw new Error('check failed');
        }),
      ).toThrowError('check failed');
      expect(ToolDefinitionSchema.safeParse(deep).success).toBe(false);
    });
  });

  describe('when the bound exceeds a limit', () => {
    it.each([
      ['depth', { depth: LIMITS.maxDepth + 1, longestString: 1 }],
      ['longest string', { depth: 1, longestString: LIMITS.maxStringLength + 1 }],
    ])('walks the definition as usual (%s)', (_name, bound) => {
      expect(withJsonShapeBound(bound, () => ToolDefinitionSchema.safeParse(deep).success)).toBe(false);
      expect(withJsonShapeBound(bound, () => ToolDefinitionSchema.safeParse({ ...deep, inputSchema: { type: 'object' } }).success)).toBe(true);
    });
  });

  it('jsonShape counts a scalar as 0 and each container as one level', () => {
    expect(jsonShape('abc')).toEqual({ depth: 0, longestString: 3 });
    expect(jsonShape({ ab: [[]] })).toEqual({ depth: 3, longestString: 2 });
  });
});
