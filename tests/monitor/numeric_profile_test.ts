/**
 * A numeric profile counts what has no number (null, NaN, ±Infinity, text that is not one) as missing, whatever
 * array holds it, and a profile's JSON that could not be its own (an infinity JSON wrote as null) is refused.
 */
import assert from "node:assert/strict";
import { NumericProfile } from "../../src/monitor/mod.ts";

Deno.test("NumericProfile: non-finite values are missing, in every kind of array", async (t) => {
  const cases: [string, ArrayLike<unknown>][] = [
    ["a Float64Array", new Float64Array([1, Infinity, 3, -Infinity, NaN])],
    ["a Float32Array", new Float32Array([1, Infinity, 3, -Infinity, NaN])],
    ["plain values", [1, Infinity, "3", "-Infinity", null]],
  ];
  for (const [name, values] of cases) {
    await t.step(name, () => {
      const p = new NumericProfile();
      p.fold(values);
      assert.deepEqual([p.rows, p.missing, p.values, p.mean, p.min, p.max], [5, 3, 2, 2, 1, 3]);
      // JSON keeps it whole: read back, the same profile.
      const back = NumericProfile.fromJSON(JSON.parse(JSON.stringify(p)));
      assert.deepEqual([back.rows, back.missing, back.mean, back.std, back.sketch.n], [5, 3, 2, 1, 2]);
    });
  }
});

Deno.test("NumericProfile.fromJSON refuses what JSON made of an infinity (a null where a number belongs)", async (t) => {
  const p = new NumericProfile();
  p.fold([1, 2, 3]);
  const good = JSON.parse(JSON.stringify(p));
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["a null m2", { ...good, m2: null }, /m2 is not a finite number/],
    ["a null in the sketch", { ...good, sketch: { ...good.sketch, levels: [[1, null, 3]] } }, /not a finite number/],
  ];
  for (const [name, json, error] of cases) {
    await t.step(name, () => assert.throws(() => NumericProfile.fromJSON(json as never), error));
  }
});
