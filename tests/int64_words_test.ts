import assert from "node:assert/strict";
import { int64Words, setSafeInteger } from "../src/int64_words.ts";

Deno.test("int64 words", async (t) => {
  const values = [
    0,
    1,
    -1,
    7,
    -12,
    2 ** 31 - 1,
    -(2 ** 31),
    2 ** 31,
    2 ** 32 - 1,
    2 ** 32,
    -(2 ** 32) - 1,
    2 ** 53 - 1,
    -(2 ** 53 - 1),
  ];
  await t.step("every safe integer lands as BigInt(value) would", () => {
    const out = new BigInt64Array(values.length);
    const words = int64Words(out);
    values.forEach((v, i) => setSafeInteger(words, i, v));
    assert.deepEqual(Array.from(out), values.map(BigInt));
  });

  await t.step("a uint64 array, and an array that starts inside its buffer", () => {
    const positive = values.filter((v) => v >= 0);
    const unsigned = new BigUint64Array(positive.length);
    const words = int64Words(unsigned);
    positive.forEach((v, i) => setSafeInteger(words, i, v));
    assert.deepEqual(Array.from(unsigned), positive.map(BigInt));

    const whole = new BigInt64Array(4).fill(99n);
    const inner = whole.subarray(1, 3);
    const innerWords = int64Words(inner);
    setSafeInteger(innerWords, 0, -3);
    setSafeInteger(innerWords, 1, 2 ** 40);
    assert.deepEqual(Array.from(whole), [99n, -3n, 2n ** 40n, 99n]);
  });
});
