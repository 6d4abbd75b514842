import assert from "node:assert/strict";
import { INTEGER_RANGES, type IntegerType, isIntegerType, isTensorType, STORAGE } from "../../src/model/mod.ts";

Deno.test("tensor types", async (t) => {
  for (const [type, [min, max]] of Object.entries(INTEGER_RANGES) as [IntegerType, [bigint, bigint]][]) {
    await t.step(`${type}: [${min}, ${max}] is exactly what its storage holds`, () => {
      const big = type === "int64" || type === "uint64";
      const value = (n: bigint) => (big ? n : Number(n)) as never;
      // The storage the model module feeds onnxruntime with: the ranges must be exactly what it holds.
      const stored = (n: bigint) => {
        const cell = new STORAGE[type](1) as unknown as { [i: number]: number | bigint };
        cell[0] = value(n);
        return BigInt(cell[0]);
      };
      assert.equal(stored(min), min);
      assert.equal(stored(max), max);
      assert.notEqual(stored(min - 1n), min - 1n);
      assert.notEqual(stored(max + 1n), max + 1n);
    });
  }
  await t.step("names", () => {
    assert.deepEqual(["float64", "int64", "string", "bool", "float16", "complex64", "toString"].map(isTensorType), [
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
    assert.equal(isIntegerType("uint32"), true);
    assert.equal(isIntegerType("float32"), false);
  });
});
