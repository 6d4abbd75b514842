/**
 * mergeShards: a window's profile from its shards' column profiles, equal
 * to the profile of the window folded whole; a share of a window is never
 * passed off as the whole.
 */
import assert from "node:assert/strict";
import { DatasetProfile, mergeShards, type NumericProfileJson, type ShardColumnRow } from "../../src/monitor/mod.ts";
import { randomSample } from "./samples.ts";

const SPECS = [
  { name: "zone", role: "input" as const, kind: "categorical" as const },
  { name: "distance", role: "input" as const, kind: "numeric" as const },
  { name: "duration", role: "output" as const, kind: "numeric" as const },
];
const MODEL = { name: "m", version: "1" };

/** A profile of rows `from..to` of the sample: zones, distances (one in ten missing) and durations. */
function profileOf(from: number, to: number): DatasetProfile {
  const p = new DatasetProfile(MODEL, SPECS);
  const distance = randomSample("lognormal", to, 1).slice(from);
  const zone = distance.map((_, i) => (from + i) % 7);
  const shown = distance.map((d, i) => ((from + i) % 10 === 9 ? null : d));
  p.fold({ zone, distance: shown }, to - from, { duration: new Float64Array(distance.map((d) => 3 * d)) });
  return p;
}

/** The drift rows shard `label` would write of `profile`: one per column, with the column's profile. */
function rowsOf(label: string, profile: DatasetProfile): ShardColumnRow[] {
  return profile.toJSON().columns.map((c) => ({ shard: label, column_name: c.name, profile: c }));
}

Deno.test("mergeShards", async (t) => {
  const reference = profileOf(0, 3_000);
  const shards = [profileOf(0, 700), profileOf(700, 1_500), profileOf(1_500, 2_000)];
  const rows = shards.flatMap((p, i) => rowsOf(`${i + 1}/3`, p));

  await t.step("the shards merged are the window's profile: counts exact, mean to rounding, same values", () => {
    const merged = mergeShards(reference, "2", rows);
    const whole = profileOf(0, 2_000);
    assert.deepEqual(merged.model, { name: "m", version: "2" });
    assert.equal(merged.rows, whole.rows);
    const [m, w] = [merged.toJSON().columns, whole.toJSON().columns];
    assert.deepEqual(m[0], w[0], "categorical: every count");
    for (const i of [1, 2]) {
      const [a, b] = [m[i] as NumericProfileJson, w[i] as NumericProfileJson];
      assert.deepEqual([a.rows, a.missing], [b.rows, b.missing]);
      assert(Math.abs(a.mean! - b.mean!) <= 1e-12 * b.mean! && Math.abs(a.std! - b.std!) <= 1e-12 * b.std!);
    }
    const stats = (p: DatasetProfile) => reference.drift(p).map((d) => [d.ks_statistic, d.wasserstein_normed]);
    assert.deepEqual(stats(merged), stats(whole), "below the sketch's k: the very same values");
  });

  const cases: [string, ShardColumnRow[], RegExp][] = [
    ["a shard missing", rows.filter((r) => r.shard !== "2/3"), /shard 2\/3 missing \(found 1\/3, 3\/3\)/],
    ["shards of two counts", [...rows, ...rowsOf("1/2", shards[0])], /rows of shards of 3 and of 2/],
    ["a column twice", [...rows, rowsOf("1/3", shards[0])[1]], /shard 1\/3 has 2 rows of column "distance"/],
    [
      "a column missing",
      rows.filter((r) => r.shard !== "3/3" || r.column_name !== "duration"),
      /has 0 rows of column "duration"/,
    ],
    [
      "a column of another kind",
      rows.map((r) => (r.column_name === "zone" ? { ...r, profile: rowsOf("x", shards[0])[1].profile } : r)),
      /column "zone" is numeric there, categorical here/,
    ],
    [
      "a column the reference has not",
      [...rows, { ...rows[0], column_name: "tip" }],
      /a column "tip" the reference has not/,
    ],
    ["a shard label that is not K/N", rows.map((r) => ({ ...r, shard: "4/3" })), /shard "4\/3" is not K\/N/],
    ["no rows", [], /no shard rows/],
  ];
  for (const [name, input, message] of cases) {
    await t.step(`refused: ${name}`, () => assert.throws(() => mergeShards(reference, "1", input), message));
  }
});
