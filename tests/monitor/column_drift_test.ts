import assert from "node:assert/strict";
import {
  CategoricalProfile,
  columnDrift,
  DEFAULT_THRESHOLDS,
  MIN_SPREAD,
  NumericProfile,
} from "../../src/monitor/mod.ts";
import { randomSample } from "./samples.ts";

function numeric(values: ArrayLike<unknown>): NumericProfile {
  const p = new NumericProfile();
  p.fold(values);
  return p;
}

function categorical(values: ArrayLike<unknown>): CategoricalProfile {
  const p = new CategoricalProfile();
  p.fold(values);
  return p;
}

Deno.test("a column's drift", async (t) => {
  const large = numeric(new Float64Array(randomSample("normal", 5_000, 1)));
  const small = numeric(randomSample("normal", 500, 2));

  await t.step("a large numeric reference: the normed Wasserstein distance decides, from 0.1", () => {
    const same = columnDrift(large, numeric(new Float64Array(randomSample("normal", 2_000, 3))));
    assert.equal(same.method, "wasserstein");
    assert.equal(same.threshold, DEFAULT_THRESHOLDS.wasserstein);
    assert(same.score! < 0.1 && !same.drifted, `score ${same.score}`);
    const shifted = columnDrift(large, numeric(randomSample("normal", 2_000, 3).map((x) => x + 0.3)));
    assert(shifted.score! >= 0.1 && shifted.drifted, `score ${shifted.score}`);
    assert.equal(shifted.score, shifted.wasserstein_normed);
    assert(shifted.ks_p_value! < 0.05, "the KS test is reported too");
  });

  await t.step("a small numeric reference: the KS p-value decides, below 0.05", () => {
    const same = columnDrift(small, numeric(randomSample("normal", 400, 4)));
    assert.equal(same.method, "ks");
    assert(same.score! >= 0.05 && !same.drifted, `p ${same.score}`);
    const shifted = columnDrift(small, numeric(randomSample("normal", 400, 4).map((x) => x + 0.5)));
    assert(shifted.score! < 0.05 && shifted.drifted, `p ${shifted.score}`);
    assert.equal(shifted.score, shifted.ks_p_value);
  });

  await t.step("a window without rows: no statistic, no drift, no missing share", () => {
    const d = columnDrift(large, new NumericProfile());
    assert.deepEqual(
      [d.row_count, d.value_count, d.missing_share, d.score, d.drifted, d.ks_statistic, d.wasserstein_normed, d.mean],
      [0, 0, null, null, false, null, null, null],
    );
    const c = columnDrift(categorical(["a", "b"]), new CategoricalProfile());
    assert.deepEqual([c.row_count, c.missing_share, c.score, c.drifted, c.jensen_shannon], [
      0,
      null,
      null,
      false,
      null,
    ]);
  });

  await t.step("an all-missing column: missing share 1, no statistic, no drift", () => {
    const d = columnDrift(large, numeric([null, undefined, NaN, "", "abc"]));
    assert.deepEqual([d.row_count, d.value_count, d.missing_share, d.score, d.drifted], [5, 0, 1, null, false]);
    assert.equal(d.reference_missing_share, 0);
    const c = columnDrift(categorical(["a", "b"]), categorical([null, ""]));
    assert.deepEqual([c.missing_share, c.score, c.drifted], [1, null, false]);
  });

  await t.step("a category never seen in the reference counts against it", () => {
    const reference = categorical(Array.from({ length: 2_100 }, (_, i) => ["a", "b", "c"][i % 3]));
    const d = columnDrift(reference, categorical(Array.from({ length: 600 }, (_, i) => ["a", "b", "z"][i % 3])));
    assert.equal(d.method, "jensen_shannon");
    // a third of the window in a new category, a third of the reference's gone: JS = sqrt(ln 2 / 3)
    assert(Math.abs(d.jensen_shannon! - Math.sqrt(Math.LN2 / 3)) < 1e-12, `JS ${d.jensen_shannon}`);
    assert(d.drifted);
    assert(d.chi_squared_p_value! < 1e-100);
  });

  await t.step("a constant column: spread floored at 0.001; the same constant does not drift, another does", () => {
    const reference = numeric(new Float64Array(2_000).fill(3));
    const same = columnDrift(reference, numeric(new Float64Array(100).fill(3)));
    assert.deepEqual([same.wasserstein_normed, same.ks_statistic, same.ks_p_value, same.drifted], [0, 0, 1, false]);
    const other = columnDrift(reference, numeric(new Float64Array(100).fill(3.01)));
    assert(Math.abs(other.wasserstein_normed! - 0.01 / MIN_SPREAD) < 1e-9, `${other.wasserstein_normed}`);
    assert.deepEqual([other.ks_statistic, other.drifted], [1, true]);
  });

  await t.step("a reference column without values: no statistic, no drift, the missing shares still told", () => {
    const n = columnDrift(numeric([null, NaN]), numeric([1, 2, null]));
    assert.deepEqual(
      [n.method, n.score, n.drifted, n.ks_statistic, n.wasserstein_normed, n.mean, n.reference_mean],
      ["ks", null, false, null, null, 2 / 2 + 0.5, null],
    );
    assert.deepEqual([n.missing_share, n.reference_missing_share], [1 / 3, 1]);
    const c = columnDrift(categorical([null, ""]), categorical(["a"]));
    assert.deepEqual([c.method, c.score, c.drifted, c.jensen_shannon, c.chi_squared], [
      "chi_squared",
      null,
      false,
      null,
      null,
    ]);
    assert.deepEqual([c.missing_share, c.reference_missing_share], [0, 1]);
  });

  await t.step("a window all in categories the reference never saw: the largest distance, drifted", () => {
    const reference = categorical(Array.from({ length: 2_000 }, (_, i) => ["a", "b"][i % 2]));
    const d = columnDrift(reference, categorical(["y", "z", "z"]));
    assert(Math.abs(d.jensen_shannon! - Math.sqrt(Math.LN2)) < 1e-12, `JS ${d.jensen_shannon}`);
    assert.equal(d.drifted, true);
  });

  await t.step("a constant categorical column: the same category 0 and not drifted, another drifted", async (t) => {
    // [name, reference size, window, JS, chi-squared p-value (null: below 1e-10), drifted]
    const cases: [string, number, string[], number, number | null, boolean][] = [
      ["large, the same", 2_000, ["a", "a"], 0, 1, false],
      ["large, another", 2_000, new Array(50).fill("b"), Math.sqrt(Math.LN2), null, true],
      ["small, the same", 50, ["a"], 0, 1, false],
      ["small, another", 50, new Array(50).fill("b"), Math.sqrt(Math.LN2), null, true],
    ];
    for (const [name, size, window, js, p, drifted] of cases) {
      await t.step(name, () => {
        const d = columnDrift(categorical(new Array(size).fill("a")), categorical(window));
        assert(Math.abs(d.jensen_shannon! - js) < 1e-12, `JS ${d.jensen_shannon}`);
        assert(p === null ? d.chi_squared_p_value! < 1e-10 : d.chi_squared_p_value === p, `p ${d.chi_squared_p_value}`);
        assert.equal(d.drifted, drifted);
      });
    }
  });

  await t.step("a constant numeric column with a small reference: KS decides, p 1 for the same constant", () => {
    const reference = numeric(new Float64Array(50).fill(3));
    const same = columnDrift(reference, numeric(new Float64Array(40).fill(3)));
    assert.deepEqual([same.method, same.ks_statistic, same.score, same.drifted], ["ks", 0, 1, false]);
    const other = columnDrift(reference, numeric(new Float64Array(40).fill(4)));
    assert.deepEqual([other.ks_statistic, other.drifted], [1, true]);
    assert(Math.abs(other.wasserstein_normed! - 1 / MIN_SPREAD) < 1e-9);
  });

  await t.step("numbers as text, bigints and typed arrays fold alike; missing values are counted", () => {
    const p = numeric(["1.5", 2n, null, " ", "x", 4]);
    assert.deepEqual([p.rows, p.missing, p.mean, p.min, p.max], [6, 3, 2.5, 1.5, 4]);
    const q = numeric(new Float32Array([1.5, 2, NaN, 4]));
    assert.deepEqual([q.rows, q.missing, q.mean], [4, 1, 2.5]);
  });

  await t.step("categories past the cap count as other", () => {
    const p = new CategoricalProfile(2);
    p.fold(["a", "b", "c", "a", 10, "10"]);
    assert.deepEqual(p.toJSON(), { kind: "categorical", rows: 6, missing: 0, counts: [["a", 2], ["b", 1]], other: 3 });
  });

  await t.step("a numeric reference cannot judge a categorical window", () => {
    assert.throws(() => columnDrift(large, categorical(["a"])), /cannot compare a numeric reference/);
  });
});
