/**
 * Cell 5, churn (not built yet): see docs/benchmarks.md for what is missing.
 */
import type { CellPart } from '../harness.js';
import type { BenchOptions } from '../harness.js';

export async function runChurn(opts: BenchOptions): Promise<CellPart> {
  opts.log('  churn: not built yet');
  return { cell: 'churn', title: 'Cell 5: churn', variants: [] };
}
