/** Pearson's chi-squared test of homogeneity between two samples' category counts. */
import { chiSquaredSf } from "./probability.ts";
import { total } from "./total.ts";

/** The statistic, its degrees of freedom and p-value. */
export interface ChiSquaredResult {
  statistic: number;
  dof: number;
  pValue: number;
}

/**
 * The 2 x K contingency table of the two samples' counts per category (SciPy's `chi2_contingency(table,
 * correction=False)`): a category seen on one side only is fine (its expected counts come from both). Categories
 * with no count on either side are left out; one category left gives statistic 0, p-value 1. Null when either
 * side is empty.
 *
 * @example
 * ```ts
 * chiSquaredTest([30, 70], [50, 50]); // { statistic: 8.333, dof: 1, pValue: 0.0039 }
 * ```
 */
export function chiSquaredTest(a: ArrayLike<number>, b: ArrayLike<number>): ChiSquaredResult | null {
  const na = total(a);
  const nb = total(b);
  if (na === 0 || nb === 0) return null;
  const n = na + nb;
  let statistic = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    const column = a[i] + b[i];
    if (column === 0) continue;
    k++;
    const ea = (na * column) / n;
    const eb = (nb * column) / n;
    statistic += (a[i] - ea) ** 2 / ea + (b[i] - eb) ** 2 / eb;
  }
  const dof = k - 1;
  return dof === 0 ? { statistic: 0, dof, pValue: 1 } : { statistic, dof, pValue: chiSquaredSf(statistic, dof) };
}
