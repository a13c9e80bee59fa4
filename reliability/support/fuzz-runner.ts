import fc from 'fast-check';
import { buildRequest, recipeArb, type FuzzRequest, type FuzzWorld, type Send } from './fuzz-cases.js';

export interface FuzzFailure {
  label: string;
  status: number;
  path: string;
  body: unknown;
  /** The first 200 bytes of the request body, hex (enough to replay the input). */
  requestHead: string;
}

export interface FuzzStats {
  total: number;
  byStatus: Record<string, number>;
  /** endpoint/fault -> count */
  byLabel: Record<string, number>;
  /** problem code -> count */
  byCode: Record<string, number>;
  failures: FuzzFailure[];
  seconds: number;
}

/** A refusal is a 4xx; a 2xx/3xx accepted an invalid document, a 5xx (or no answer) did not handle it. */
export const isRefusal = (status: number): boolean => status >= 400 && status < 500;

/**
 * Sends `count` fuzz requests (fast-check recipes from `seed`), `concurrency` at a time, and
 * collects what came back. Failures are collected, not thrown, so a long run reports them all.
 */
export async function runFuzz(world: FuzzWorld, send: Send, options: { count: number; seed: number; concurrency: number; onProgress?: (done: number) => void }): Promise<FuzzStats> {
  const stats: FuzzStats = { total: 0, byStatus: {}, byLabel: {}, byCode: {}, failures: [], seconds: 0 };
  const started = performance.now();
  const chunk = 1000;
  for (let offset = 0; offset < options.count; offset += chunk) {
    const recipes = fc.sample(recipeArb, { numRuns: Math.min(chunk, options.count - offset), seed: options.seed + offset });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < recipes.length) {
        const recipe = recipes[next++]!;
        const request = await buildRequest(world, recipe);
        record(stats, request, await send(request).catch((error: unknown) => ({ status: 0, body: String(error) })));
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    options.onProgress?.(offset + recipes.length);
  }
  stats.seconds = (performance.now() - started) / 1000;
  return stats;
}

export function record(stats: FuzzStats, request: FuzzRequest, response: { status: number; body: unknown }): void {
  stats.total++;
  stats.byStatus[response.status] = (stats.byStatus[response.status] ?? 0) + 1;
  const family = request.label.split('/').slice(0, 2).join('/');
  stats.byLabel[family] = (stats.byLabel[family] ?? 0) + 1;
  const code = (response.body as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') stats.byCode[code] = (stats.byCode[code] ?? 0) + 1;
  if (!isRefusal(response.status) && stats.failures.length < 100)
    stats.failures.push({
      label: request.label,
      status: response.status,
      path: request.path,
      body: response.body,
      requestHead: (request.body ?? Buffer.alloc(0)).subarray(0, 200).toString('hex'),
    });
}
