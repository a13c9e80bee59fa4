/**
 * `npm run bench`: runs every bench module in turn and prints its figures side by side.
 * Exit code 1 when a check (a ratio measured in the same run) fails.
 * ETDI_BENCH=<name,...> runs only the named modules.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from './report.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const only = process.env.ETDI_BENCH?.split(',').filter(Boolean);
const modules = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => !only || only.includes(f.replace('.bench.js', '')))
  .sort();

let failed = 0;
for (const file of modules) {
  const mod = (await import(new URL(file, import.meta.url).href)) as { run: () => Promise<BenchReport> };
  const started = performance.now();
  const report = await mod.run();
  console.log(`\n## ${report.title}  (${file}, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  for (const row of report.rows)
    console.log(`  ${row.name.padEnd(58)} ${formatValue(row.value).padStart(12)} ${row.unit}${row.note ? `  (${row.note})` : ''}`);
  for (const check of report.checks) {
    if (!check.ok) failed++;
    console.log(`  [${check.ok ? 'PASS' : 'FAIL'}] ${check.name}: ${check.detail}`);
  }
}
console.log(`\n${failed === 0 ? 'all checks passed' : `${failed} check(s) failed`}`);
process.exitCode = failed === 0 ? 0 : 1;

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toPrecision(3);
}
