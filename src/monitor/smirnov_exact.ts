/**
 * The exact two-sided p-value of the two-sample Kolmogorov-Smirnov
 * statistic, P(D >= d) for samples of n1 and n2 values without ties, as
 * SciPy's `ks_2samp` computes it below 10,000 values (`method="exact"`).
 * The limiting distribution is far off for a window of a few rows: one row
 * of 100 against 500 reference rides is p = 0.004 exactly, 0.1 by the limit.
 *
 * The lattice paths from (0, 0) to (n1, n2), one step right per value of
 * the first sample and one up per value of the second, in sorted order,
 * are equally likely under the null hypothesis; D >= d when a path leaves
 * the band |x/n1 - y/n2| < d. Walking the band column by column, the
 * probability that a path to (x, y) has left it is 1 outside the band and
 * (x p(x-1, y) + y p(x, y-1)) / (x + y) inside, which stays in [0, 1]
 * (Viehmann's recursion for 1 - p, after Hodges' inside method), so no
 * binomial coefficient is ever formed.
 */

/**
 * P(D >= d) for samples of `n1` and `n2` values; O(n1 n2) at most (a band's width per column).
 *
 * @example
 * ```ts
 * smirnovExactSf(500, 1, 1); // 0.004 (2 / 501): the one value beyond all 500
 * ```
 */
export function smirnovExactSf(n1: number, n2: number, d: number): number {
  // Columns along the larger sample, the array along the smaller.
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const g = gcd(m, n);
  const mg = m / g;
  const ng = n / g;
  // On the lattice, d is a multiple of 1 / lcm: rounded to it, as a statistic computed in floating point is.
  const h = Math.round(d * mg * n);
  if (h <= 0) return 1;
  // (i, j) is inside the band when |ng i - mg j| < h.
  const firstInside = (i: number) => Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
  const lastInside = (i: number) => Math.min(Math.ceil((ng * i + h) / mg) - 1, n);
  const p = new Float64Array(n + 1).fill(1);
  for (let j = 0; j <= lastInside(0); j++) p[j] = 0;
  let lo = 0;
  for (let i = 1; i <= m; i++) {
    const from = Math.min(firstInside(i), n);
    const to = lastInside(i);
    if (to < from) return 1;
    // Below the band now: every path there has left it.
    for (let j = lo; j < from; j++) p[j] = 1;
    lo = from;
    // p[j] holds column i - 1 until it is replaced; p[j - 1] is column i's already (1 when below the band).
    for (let j = from; j <= to; j++) p[j] = (i * p[j] + (j === 0 ? 0 : j * p[j - 1])) / (i + j);
  }
  return p[n];
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
