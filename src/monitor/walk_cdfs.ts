/**
 * The walk the two-sample statistics share: two distributions given as
 * sorted weighted values, stepped through together one distinct value at a
 * time, with each side's empirical CDF there.
 */
import type { WeightedValues } from "./quantile_sketch.ts";
import { total } from "./total.ts";

/**
 * Calls `step(x, fa, fb)` for each distinct value `x` of `a` and `b` in increasing order, where `fa` and `fb` are
 * F_a(x) and F_b(x) (the weight at or below `x` over the total). Returns the two totals, or null, calling
 * nothing, when either side is empty.
 *
 * @example
 * ```ts
 * let d = 0;
 * walkCdfs(sketchA.weighted(), sketchB.weighted(), (_x, fa, fb) => d = Math.max(d, Math.abs(fa - fb)));
 * ```
 */
export function walkCdfs(
  a: WeightedValues,
  b: WeightedValues,
  step: (x: number, fa: number, fb: number) => void,
): [na: number, nb: number] | null {
  const na = total(a.weights);
  const nb = total(b.weights);
  if (na === 0 || nb === 0) return null;
  let i = 0;
  let j = 0;
  let ca = 0;
  let cb = 0;
  while (i < a.values.length || j < b.values.length) {
    const x = j >= b.values.length || (i < a.values.length && a.values[i] <= b.values[j]) ? a.values[i] : b.values[j];
    while (i < a.values.length && a.values[i] === x) ca += a.weights[i++];
    while (j < b.values.length && b.values[j] === x) cb += b.weights[j++];
    step(x, ca / na, cb / nb);
  }
  return [na, nb];
}
