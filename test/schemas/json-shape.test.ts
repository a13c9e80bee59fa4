import { describe, expect, it } from 'vitest';
import { jsonShape, LIMITS, ToolDefinitionSchema } from '../../schemas/index.js';

const nest = (depth: number): unknown => (depth === 0 ? 'leaf' : { n: nest(depth - 1) });

describe('jsonShape', () => {
  it('counts a scalar as 0 and each container as one level', () => {
    expect(jsonShape('abc')).toEqual({ depth: 0, longestString: 3 });
    expect(jsonShape({ ab: [[]] })).toEqual({ depth: 3, longestString: 2 });
  });

  it.each([
    ['nesting deeper than the limit', { name: 'deep', inputSchema: { type: 'object', properties: nest(LIMITS.maxDepth) } }],
    ['a string longer than the limit', { name: 'long', inputSchema: { type: 'object', properties: { a: { default: 'x'.repeat(LIMITS.maxStringLength + 1) } } } }],
  ])('bounds a definition through the schema: %s is refused', (_name, definition) => {
    expect(ToolDefinitionSchema.safeParse(definition).success).toBe(false);
  });
});
