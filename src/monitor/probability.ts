/**
 * The two survival functions the drift tests need, in double precision:
 * Kolmogorov's limiting distribution (for the KS test's p-value) and
 * chi-squared's (for the chi-squared test's).
 */

/**
 * P(K > x) for Kolmogorov's limiting distribution K (SciPy's `kstwobign.sf`): the alternating series
 * 2 sum (-1)^(j-1) exp(-2 j^2 x^2) where it converges fast, else 1 - its other form,
 * sqrt(2 pi) / x sum exp(-(2j-1)^2 pi^2 / (8 x^2)).
 *
 * @example
 * ```ts
 * kolmogorovSf(1.36); // ~0.0494
 * ```
 */
export function kolmogorovSf(x: number): number {
  if (!(x > 0)) return 1;
  if (x < 1.18) {
    const y = -(Math.PI * Math.PI) / (8 * x * x);
    let cdf = 0;
    for (let j = 1; j <= 9; j += 2) cdf += Math.exp(j * j * y);
    return 1 - (Math.sqrt(2 * Math.PI) / x) * cdf;
  }
  let sf = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * x * x);
    sf += j % 2 === 1 ? term : -term;
    if (term < 1e-300 || term < Math.abs(sf) * 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * sf));
}

/**
 * P(X > x) for a chi-squared variable of `dof` degrees of freedom (SciPy's `chi2.sf`): the regularized upper
 * incomplete gamma function Q(dof/2, x/2), by its series below a + 1 and its continued fraction above.
 *
 * @example
 * ```ts
 * chiSquaredSf(3.841458820694124, 1); // ~0.05
 * ```
 */
export function chiSquaredSf(x: number, dof: number): number {
  if (dof <= 0) return 1;
  if (!(x > 0)) return 1;
  if (x === Infinity) return 0;
  const a = dof / 2;
  const z = x / 2;
  return z < a + 1 ? 1 - lowerSeries(a, z) : upperFraction(a, z);
}

const EPS = 1e-16;

/** P(a, z) by its power series (Numerical Recipes' gser). */
function lowerSeries(a: number, z: number): number {
  let ap = a;
  let del = 1 / a;
  let sum = del;
  for (let n = 0; n < 10_000; n++) {
    ap++;
    del *= z / ap;
    sum += del;
    if (Math.abs(del) < Math.abs(sum) * EPS) break;
  }
  return sum * Math.exp(-z + a * Math.log(z) - logGamma(a));
}

/** Q(a, z) by Lentz's continued fraction (Numerical Recipes' gcf). */
function upperFraction(a: number, z: number): number {
  const tiny = 1e-300;
  let b = z + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(-z + a * Math.log(z) - logGamma(a)) * h;
}

/** ln Gamma(x), x > 0: Lanczos' approximation (g = 7, 9 terms), ~15 digits. */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const g = 7;
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  x -= 1;
  let s = c[0];
  for (let i = 1; i < g + 2; i++) s += c[i] / (x + i);
  const t = x + g + 0.5;
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(s);
}
