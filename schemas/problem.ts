import { z } from 'zod';

/** RFC 9457 problem details, with the project's stable error `code` as an extension member. */
export const ProblemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  detail: z.string().optional(),
  instance: z.string().optional(),
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  /** Field-level reasons (schema issues, Cedar diagnostics), when there are any. */
  errors: z.array(z.looseObject({ path: z.string().optional(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof ProblemSchema>;
