/**
 * The first Wasserstein distance (earth mover's distance) between two
 * distributions given as weighted values.
 */
import { total } from "./ks_test.ts";
import type { WeightedValues } from "./quantile_sketch.ts";

/**
 * W1 = the integral of |F_a(x) - F_b(x)| over x, as SciPy's `wasserstein_distance` computes it: exactly its value
 * (to rounding) when both hold every value. In the units of the values: divide by a spread to compare columns.
 * Null when either side is empty.
 *
 * @example
 * ```ts
 * wassersteinDistance(sketchA.weighted(), sketchB.weighted()); // 1.7
 * ```
 */
export function wassersteinDistance(a: WeightedValues, b: WeightedValues): number | null {
  const na = total(a.weights);
  const nb = total(b.weights);
  if (na === 0 || nb === 0) return null;
  let i = 0;
  let j = 0;
  let ca = 0;
  let cb = 0;
  let sum = 0;
  let previous = NaN;
  while (i < a.values.length || j < b.values.length) {
    const x = j >= b.values.length || (i < a.values.length && a.values[i] <= b.values[j]) ? a.values[i] : b.values[j];
    // The CDFs' gap holds from the value before up to this one.
    if (previous === previous) sum += Math.abs(ca / na - cb / nb) * (x - previous);
    while (i < a.values.length && a.values[i] === x) ca += a.weights[i++];
    while (j < b.values.length && b.values[j] === x) cb += b.weights[j++];
    previous = x;
  }
  return sum;
}
