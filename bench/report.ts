/** What every bench module returns; bench/run.ts prints them side by side and fails on a failed check. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

export interface BenchCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface BenchReport {
  title: string;
  rows: BenchRow[];
  checks: BenchCheck[];
}

/** Runs `fn` `iterations` times after a warm-up and returns the per-call times in ms, sorted. */
export async function sample(fn: () => unknown, iterations: number, warmup = Math.min(200, iterations)): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Mean time per call of a tight loop, in ms (for sub-microsecond to sub-millisecond work). */
export async function meanTime(fn: () => unknown, iterations: number): Promise<number> {
  for (let i = 0; i < Math.min(200, iterations); i++) await fn();
  const t = performance.now();
  for (let i = 0; i < iterations; i++) await fn();
  return (performance.now() - t) / iterations;
}
