import assert from "node:assert/strict";
import { INTEGER_RANGES, type IntegerType, isIntegerType, isTensorType } from "../../src/model/mod.ts";

/** The storage onnxruntime uses for each integer type: the ranges must be exactly what it holds. */
const STORAGE: Record<IntegerType, { of(...v: never[]): ArrayLike<unknown> }> = {
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
};

Deno.test("tensor types", async (t) => {
  for (const [type, [min, max]] of Object.entries(INTEGER_RANGES) as [IntegerType, [bigint, bigint]][]) {
    await t.step(`${type}: [${min}, ${max}] is exactly what its storage holds`, () => {
      const big = type === "int64" || type === "uint64";
      const value = (n: bigint) => (big ? n : Number(n)) as never;
      const stored = (n: bigint) => BigInt(STORAGE[type].of(value(n))[0] as number | bigint);
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
