/**
 * The monitor's statistics against SciPy's on the same samples (Debian's
 * python3-scipy): exactly (to rounding) where they are computed from every
 * value, within the sketch's documented error where a sketch approximates.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  chiSquaredSf,
  chiSquaredTest,
  jensenShannon,
  kolmogorovSf,
  ksTest,
  QuantileSketch,
  wassersteinDistance,
} from "../../src/monitor/mod.ts";
import { ROOT } from "../helpers.ts";
import { randomSample } from "./samples.ts";

interface NumericAnswer {
  ks_statistic: number;
  ks_p_value: number;
  ks_p_value_stephens: number;
  wasserstein: number;
  std_a: number;
}
interface CategoricalAnswer {
  jensen_shannon: number;
  chi_squared: number;
  chi_squared_p_value: number;
  dof: number;
}
interface Answers {
  numeric: NumericAnswer[];
  categorical: CategoricalAnswer[];
  kolmogorov: number[];
  chi2: number[];
}

/** Runs tests/monitor/scipy_stats.py on the cases. */
async function scipy(cases: unknown): Promise<Answers> {
  const input = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(input, JSON.stringify(cases));
    const { code, stdout, stderr } = await new Deno.Command("/usr/bin/python3", {
      args: [join(ROOT, "tests", "monitor", "scipy_stats.py"), input],
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    return JSON.parse(new TextDecoder().decode(stdout));
  } finally {
    await Deno.remove(input);
  }
}

/** Every value of a sample as a sketch's weighted values (a sketch of k > n holds them all). */
function exact(values: number[]) {
  const s = new QuantileSketch(2 * Math.ceil((values.length + 1) / 2) + 2);
  for (const v of values) s.add(v);
  return s.weighted();
}

/** |actual - expected| <= tolerance. */
function near(actual: number, expected: number, tolerance: number, what: string) {
  assert(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual} vs SciPy's ${expected} (tolerance ${tolerance})`,
  );
}

/** |actual - expected| <= rel * |expected| (or <= rel when expected is 0). */
function close(actual: number, expected: number, rel: number, what: string) {
  assert(
    Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300) || actual === expected,
    `${what}: ${actual} vs SciPy's ${expected}`,
  );
}

Deno.test("the statistics equal SciPy's", async (t) => {
  const small = [
    { name: "normal, 50 vs 60, same distribution", a: randomSample("normal", 50, 1), b: randomSample("normal", 60, 2) },
    {
      name: "normal, 300 vs 500, shifted by 0.3",
      a: randomSample("normal", 300, 3),
      b: randomSample("normal", 500, 4).map((x) => x + 0.3),
    },
    { name: "integers with ties, 800 vs 700", a: randomSample("dice", 800, 5), b: randomSample("dice", 700, 6) },
    { name: "a constant column, the same constant", a: new Array(50).fill(3), b: new Array(60).fill(3) },
    { name: "a window of one row far out, against 500", a: randomSample("normal", 500, 11), b: [100] },
    { name: "a window of two rows, against 500", a: randomSample("normal", 500, 12), b: [2.5, 3] },
    { name: "five rows against five", a: [1, 2, 3, 4, 5], b: [3.5, 6, 7, 8, 9] },
    { name: "a constant column, another constant", a: new Array(50).fill(3), b: new Array(60).fill(4) },
    {
      name: "lognormal, 2000 vs 3000, scaled by 1.2",
      a: randomSample("lognormal", 2000, 7),
      b: randomSample("lognormal", 3000, 8).map((x) => x * 1.2),
    },
  ];
  const large = {
    a: randomSample("lognormal", 200_000, 9),
    b: randomSample("lognormal", 100_000, 10).map((x) => x * 1.05 + 0.1),
  };
  const categorical = [
    { name: "three categories", p: [30, 50, 20], q: [40, 40, 20] },
    { name: "a category never seen in the reference", p: [100, 50, 0], q: [90, 40, 25] },
    { name: "a category of the reference gone", p: [10, 20, 30, 40], q: [0, 25, 25, 50] },
    { name: "two categories (one degree of freedom)", p: [700, 300], q: [650, 350] },
    { name: "a constant column (one category on both sides)", p: [50], q: [30] },
    { name: "no category in common", p: [10, 0], q: [0, 10] },
  ];
  const kolmogorov = [0.2, 0.5, 0.9, 1.17, 1.18, 1.36, 2, 3, 5];
  const chi2: [number, number][] = [[0.5, 1], [3.841458820694124, 1], [10, 3], [200, 150], [40, 5], [1e-3, 2], [
    500,
    10,
  ]];
  const answers = await scipy({
    numeric: [...small, large].map(({ a, b }) => ({ a, b })),
    categorical: categorical.map(({ p, q }) => ({ p, q })),
    kolmogorov,
    chi2,
  });

  for (const [i, c] of small.entries()) {
    await t.step(`numeric, every value: ${c.name}`, () => {
      const want = answers.numeric[i];
      const ks = ksTest(exact(c.a), exact(c.b))!;
      close(ks.statistic, want.ks_statistic, 1e-12, "KS statistic");
      if (c.a.length * c.b.length <= 1_000_000) {
        // Exact, as SciPy's below 10,000 values.
        close(ks.pValue, want.ks_p_value, 1e-9, "KS p-value (exact) against ks_2samp's");
      } else {
        close(
          ks.pValue,
          want.ks_p_value_stephens,
          1e-9,
          "KS p-value (Kolmogorov's distribution, Stephens' correction)",
        );
        // SciPy's own p-value (exact below 10,000 values, else its asymptotic form): within 0.02.
        near(ks.pValue, want.ks_p_value, 0.02, "KS p-value against ks_2samp's");
      }
      close(wassersteinDistance(exact(c.a), exact(c.b))!, want.wasserstein, 1e-9, "Wasserstein distance");
    });
  }

  await t.step("numeric, 200,000 vs 100,000 values through sketches of k = 4096", () => {
    const want = answers.numeric[small.length];
    const sa = new QuantileSketch();
    const sb = new QuantileSketch();
    sa.addAll(large.a);
    // The current side in shards, merged: the answer does not depend on how it was split.
    for (let from = 0; from < large.b.length; from += 30_000) {
      const shard = new QuantileSketch();
      shard.addAll(large.b, from, Math.min(from + 30_000, large.b.length));
      sb.merge(shard);
    }
    const ks = ksTest(sa.weighted(), sb.weighted())!;
    // Documented: a rank is off by ~1.4/k typically; the KS statistic by at most both sketches' errors.
    near(ks.statistic, want.ks_statistic, 0.003, "KS statistic from sketches");
    const w = wassersteinDistance(sa.weighted(), sb.weighted())!;
    near(w / want.std_a, want.wasserstein / want.std_a, 0.005, "normed Wasserstein from sketches");
  });

  for (const [i, c] of categorical.entries()) {
    await t.step(`categorical: ${c.name}`, () => {
      const want = answers.categorical[i];
      close(jensenShannon(c.p, c.q)!, want.jensen_shannon, 1e-12, "Jensen-Shannon distance");
      const chi = chiSquaredTest(c.p, c.q)!;
      close(chi.statistic, want.chi_squared, 1e-12, "chi-squared statistic");
      assert.equal(chi.dof, want.dof);
      close(chi.pValue, want.chi_squared_p_value, 1e-9, "chi-squared p-value");
    });
  }

  await t.step("Kolmogorov's and chi-squared's survival functions", () => {
    kolmogorov.forEach((x, i) => close(kolmogorovSf(x), answers.kolmogorov[i], 1e-10, `kstwobign.sf(${x})`));
    chi2.forEach(([x, dof], i) => close(chiSquaredSf(x, dof), answers.chi2[i], 1e-10, `chi2.sf(${x}, ${dof})`));
  });
});
