import assert from "node:assert/strict";
import { plainNumbers } from "../../src/sources/plain_numbers.ts";
import type { NumberType } from "../../src/sources/source.ts";
import { textBytesOf as bytesOf } from "../../src/text_bytes.ts";

/** A reproducible stream of doubles of every magnitude, and short decimals as people write them. */
function* samples(n: number): Generator<string> {
  let state = 42;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const view = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < n; i++) {
    view.setUint32(0, Math.floor(next() * 2 ** 32));
    view.setUint32(4, Math.floor(next() * 2 ** 32));
    const any = view.getFloat64(0);
    if (Number.isFinite(any)) yield String(any);
    const short = (next() * 10 ** Math.floor(next() * 8)).toFixed(Math.floor(next() * 6));
    yield short;
    yield String(Number(short) / 7);
    yield (next() * 1000).toPrecision(1 + Math.floor(next() * 21));
  }
}

Deno.test("plain numbers", async (t) => {
  await t.step("decimals: the number Number() reads, for every double's text and everyday decimals", () => {
    const texts = [...samples(50_000)];
    const got = plainNumbers(bytesOf(texts), "float64");
    assert.ok(got instanceof Float64Array, "every one plain");
    const wrong = texts.filter((text, i) => !Object.is(got[i], Number(text)));
    assert.deepEqual(wrong, []);
  });

  const cases: { name: string; type: NumberType; texts: (string | null)[]; expect: unknown[] }[] = [
    {
      name: "decimals at the fast path's edges, and past them",
      type: "float64",
      texts: [
        "1e22",
        "1e23",
        "1e-22",
        "1e-23",
        "3e23",
        "7e-23",
        "9007199254740993",
        "123456789012345",
        "1234567890123456",
        "0.000000000000000000000000001",
        "-0",
        "0e999999",
        "1e-400",
        "2.5E+3",
        "+.5",
        "5.",
        " 2\t",
      ],
      expect: [
        1e22,
        1e23,
        1e-22,
        1e-23,
        3e23,
        7e-23,
        9007199254740992,
        123456789012345,
        1234567890123456,
        1e-27,
        -0,
        0,
        0,
        2500,
        0.5,
        5,
        2,
      ],
    },
    {
      name: "decimals that are not plain stay text, a null as the empty text",
      type: "float32",
      texts: [
        "1.5",
        "",
        null,
        ".",
        "1e",
        "1e+",
        "e5",
        "1_000",
        "+-1",
        "0x10",
        "Infinity",
        "NaN",
        "1e999",
        "1.2.3",
        "١",
      ],
      expect: [1.5, "", "", ".", "1e", "1e+", "e5", "1_000", "+-1", "0x10", "Infinity", "NaN", "1e999", "1.2.3", "١"],
    },
    {
      name: "int32: integers as they print, in range",
      type: "int32",
      texts: ["0", "-12", "2147483647", "-2147483648", "2147483648", "+1", "012", "-0", "1.0", " 1", ""],
      expect: [0, -12, 2147483647, -2147483648, "2147483648", "+1", "012", "-0", "1.0", " 1", ""],
    },
    {
      name: "int64: integers as they print, in range, as bigints",
      type: "int64",
      texts: [
        "7",
        "-12",
        "4294967296",
        "-4294967297",
        "999999999999999",
        "-9223372036854775808",
        "9223372036854775807",
        "9223372036854775808",
        "123456789012345678",
        "07",
      ],
      expect: [
        7n,
        -12n,
        4294967296n,
        -4294967297n,
        999999999999999n,
        -9223372036854775808n,
        9223372036854775807n,
        "9223372036854775808",
        123456789012345678n,
        "07",
      ],
    },
  ];
  for (const { name, type, texts, expect } of cases) {
    await t.step(name, () => {
      const got = Array.from(plainNumbers(bytesOf(texts), type));
      assert.equal(got.length, expect.length);
      got.forEach((v, i) => assert.ok(Object.is(v, expect[i]), `${JSON.stringify(texts[i])}: ${String(v)}`));
    });
  }

  await t.step("an exponent past the parser's cap, which leading zeros take back: as Number() reads it", () => {
    const huge = "0." + "0".repeat(100_010) + "1e1000020";
    const small = "0." + "0".repeat(100_010) + "1e100020";
    assert.ok(Number.isFinite(Number(small)) && !Number.isFinite(Number(huge)));
    assert.deepEqual(Array.from(plainNumbers(bytesOf([small, huge]), "float64")), [Number(small), huge]);
  });

  await t.step("typed when every text is plain: Float64Array, Int32Array, BigInt64Array", () => {
    assert.ok(plainNumbers(bytesOf(["1", "2.5"]), "float32") instanceof Float64Array);
    assert.ok(plainNumbers(bytesOf(["1", "2"]), "int32") instanceof Int32Array);
    assert.ok(plainNumbers(bytesOf(["1", "2"]), "int64") instanceof BigInt64Array);
    assert.ok(Array.isArray(plainNumbers(bytesOf(["1", "x"]), "int32")));
  });
});
