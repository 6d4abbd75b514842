import assert from "node:assert/strict";
import { QuantileSketch } from "../../src/monitor/mod.ts";
import { sortNumbers } from "../../src/monitor/sort_numbers.ts";
import { randomSample } from "./samples.ts";

/** The sketch's CDF at x: the weight of its items <= x, over n. */
function rank(s: QuantileSketch, x: number): number {
  const { values, weights } = s.weighted();
  let below = 0;
  for (let i = 0; i < values.length && values[i] <= x; i++) below += weights[i];
  return below / s.n;
}

Deno.test("a quantile sketch", async (t) => {
  await t.step("holds every value while there are fewer than k", () => {
    const s = new QuantileSketch(64);
    s.addAll([5, 1, 3, 3, 2]);
    s.add(4);
    assert.deepEqual(Array.from(s.weighted().values), [1, 2, 3, 4, 5]);
    assert.deepEqual(Array.from(s.weighted().weights), [1, 1, 2, 1, 1]);
  });

  await t.step("keeps the total weight exactly n past k, in less than k per level", () => {
    const s = new QuantileSketch(64);
    const values = randomSample("uniform", 100_003, 1);
    s.addAll(values);
    const { weights } = s.weighted();
    assert.equal(weights.reduce((a, b) => a + b, 0), 100_003);
    const held = s.toJSON().levels;
    assert(held.every((level) => level.length < 64), "every level holds fewer than k items");
    assert(held.length <= Math.ceil(Math.log2(100_003 / 64)) + 1, `${held.length} levels`);
  });

  for (const k of [256, 4096]) {
    await t.step(`ranks 1,000,000 values within 3/k (k = ${k})`, () => {
      const values = randomSample("uniform", 1_000_000, k);
      const s = new QuantileSketch(k);
      s.addAll(values);
      const sorted = Float64Array.from(values).sort();
      let worst = 0;
      for (let q = 0.01; q < 1; q += 0.01) {
        const x = sorted[Math.floor(q * sorted.length)];
        const exact = (Math.floor(q * sorted.length) + 1) / sorted.length;
        worst = Math.max(worst, Math.abs(rank(s, x) - exact));
      }
      assert(worst < 3 / k, `worst rank error ${worst} (3/k = ${3 / k})`);
    });
  }

  await t.step("merges shards into what one sketch of all the values would estimate", () => {
    const values = randomSample("normal", 50_000, 2);
    const whole = new QuantileSketch(512);
    whole.addAll(values);
    const merged = new QuantileSketch(512);
    for (let from = 0; from < values.length; from += 7_000) {
      const shard = new QuantileSketch(512);
      shard.addAll(values, from, Math.min(from + 7_000, values.length));
      merged.merge(shard);
    }
    assert.equal(merged.n, 50_000);
    for (const x of [-2, -1, 0, 0.5, 1.5]) {
      assert(Math.abs(rank(merged, x) - rank(whole, x)) < 6 / 512, `rank of ${x}`);
    }
    assert.throws(() => merged.merge(new QuantileSketch(256)), /cannot merge sketches of k 512 and 256/);
  });

  await t.step("round-trips through JSON, and refuses a sketch whose weight is not its n", () => {
    const s = new QuantileSketch(128);
    s.addAll(randomSample("lognormal", 10_000, 3));
    const back = QuantileSketch.fromJSON(JSON.parse(JSON.stringify(s)));
    assert.deepEqual(back.weighted(), s.weighted());
    assert.throws(
      () => QuantileSketch.fromJSON({ ...s.toJSON(), n: 9_999 }),
      /sketch holds a weight of 10000, not its n 9999/,
    );
  });
});

Deno.test("sortNumbers sorts as Float64Array.prototype.sort does", async (t) => {
  const cases: [string, number[]][] = [
    ["random", randomSample("normal", 5_000, 4)],
    ["random, negative and positive, a small range", randomSample("normal", 300, 9)],
    [
      "values equal in their top 32 bits (within a millionth)",
      randomSample("uniform", 5_000, 8).map((x) => 1 + x * 1e-7),
    ],
    ["zeros of both signs, infinities, subnormals", [
      0,
      -0,
      Infinity,
      -Infinity,
      5e-324,
      -5e-324,
      ...randomSample("normal", 1_000, 7),
    ]],
    ["many equal values", randomSample("dice", 5_000, 5)],
    ["sorted", Array.from({ length: 3_000 }, (_, i) => i)],
    ["reversed", Array.from({ length: 3_000 }, (_, i) => -i)],
    ["two sorted runs", [
      ...Array.from({ length: 500 }, (_, i) => i * 2),
      ...Array.from({ length: 500 }, (_, i) => i * 2 + 1),
    ]],
    ["four sorted runs, one left as it is", [1, 2, 3, 0, 5, 9, 4, 4, 8, 10, 11]],
    ["one value", [7]],
    ["none", []],
  ];
  for (const [name, values] of cases) {
    await t.step(name, () => {
      assert.deepEqual(sortNumbers(Float64Array.from(values)), Float64Array.from(values).sort());
    });
  }
});
