import assert from "node:assert/strict";
import type { ValueType } from "../src/rows.ts";
import { cellText, hasUnsafeInteger, jsonText, jsonValue, parseJson } from "../src/value_codec.ts";

Deno.test("parseJson keeps integers beyond 2^53 exact, and nothing else changes", async (t) => {
  const cases: [string, string, unknown][] = [
    ["a big integer", '{"id": 9007199254740993}', { id: 9007199254740993n }],
    ["a big negative integer", "[-9007199254740995]", [-9007199254740995n]],
    ["safe integers stay numbers", '{"a": 42, "b": -7}', { a: 42, b: -7 }],
    ["decimals and exponents stay numbers", "[1.5, 1e300, 12345678901234567890.5]", [1.5, 1e300, 12345678901234567000]],
    ["strings stay strings", '{"id": "9007199254740993"}', { id: "9007199254740993" }],
    [
      "a big integer among floats written with 17 digits",
      '[{"d": 0.47000000000000003, "id": 9007199254740993}, {"d": 1.2345678901234567e-7, "id": 1}]',
      [{ d: 0.47000000000000003, id: 9007199254740993n }, { d: 1.2345678901234567e-7, id: 1 }],
    ],
    ["2^53 itself, as every integer from there on", "[9007199254740992]", [9007199254740992n]],
    ["a big integer deep down", '{"a": [[{"b": [-18446744073709551615]}]]}', {
      a: [[{ b: [-18446744073709551615n] }]],
    }],
  ];
  for (const [name, text, want] of cases) await t.step(name, () => assert.deepEqual(parseJson(text), want));
  await t.step("invalid JSON still throws", () => assert.throws(() => parseJson("{nope"), SyntaxError));
});

// parseJson takes the slow reviver only for what hasUnsafeInteger finds: floats with long fractions, the common
// case of a request's features, must not count.
Deno.test("hasUnsafeInteger finds exactly the numbers JSON.parse may have rounded", async (t) => {
  const cases: [string, string, boolean][] = [
    ["floats written with 17 digits", '[{"trip_distance": 0.47000000000000003}, 1.2345678901234567e-7, -0.1]', false],
    [
      "safe integers, strings of digits",
      '{"a": 9007199254740991, "b": -9007199254740991, "c": "9007199254740993"}',
      false,
    ],
    ["no numbers at all", '{"a": [null, true, "x", {}]}', false],
    ["2^53 + 1", '{"id": 9007199254740993}', true],
    ["a big negative integer in a nested list", '{"a": [[1.5, [-9007199254740995]]]}', true],
    ["a decimal beyond 2^53 (the reviver leaves it a number)", "[12345678901234567890.5]", true],
    ["a top-level big integer", "18446744073709551615", true],
  ];
  for (const [name, text, want] of cases) {
    await t.step(name, () => assert.equal(hasUnsafeInteger(JSON.parse(text)), want));
  }
  await t.step("nesting deeper than the call stack", () => {
    const deep = "[".repeat(100_000) + "9007199254740993" + "]".repeat(100_000);
    assert.equal(hasUnsafeInteger(JSON.parse(deep)), true);
  });
});

Deno.test("jsonText writes bigints with all their digits, as JSON numbers", async (t) => {
  const cases: [string, unknown, string][] = [
    ["a bigint beyond 2^53", { id: 9007199254740993n }, '{"id":9007199254740993}'],
    ["a small bigint", [130n, -1n], "[130,-1]"],
    [
      "the rest as JSON.stringify",
      { s: "x", n: 1.5, d: new Date(0) },
      '{"s":"x","n":1.5,"d":"1970-01-01T00:00:00.000Z"}',
    ],
  ];
  for (const [name, value, want] of cases) await t.step(name, () => assert.equal(jsonText(value), want));
  await t.step("read back by parseJson, the same values", () => {
    const value = { id: 2n ** 63n - 1n, neg: -(2n ** 60n), n: 7 };
    assert.deepEqual(parseJson(jsonText(value)), value);
  });
});

Deno.test("jsonValue and cellText: one value, as JSON and as text", async (t) => {
  const cases: [string, unknown, ValueType, string, string][] = [
    // name, value, type, JSON text of jsonValue, cellText
    ["a big int64", 9007199254740993n, "int64", "9007199254740993", "9007199254740993"],
    ["a safe int64", 130n, "int64", "130", "130"],
    ["a float", 26.43883355119793, "float64", "26.43883355119793", "26.43883355119793"],
    ["NaN", NaN, "float64", "null", "NaN"],
    ["null", null, "float64", "null", ""],
    ["a 0/1 bool", 1, "bool", "true", "true"],
    [
      "a naive timestamp",
      new Date(Date.UTC(2021, 1, 1, 0, 15)),
      "timestamp",
      '"2021-02-01T00:15:00"',
      "2021-02-01T00:15:00",
    ],
    ["a date", new Date(Date.UTC(2021, 1, 1)), "date", '"2021-02-01"', "2021-02-01"],
    [
      "an object holding a bigint",
      { id: 2n ** 60n },
      "json",
      '{"id":1152921504606846976}',
      '{"id":1152921504606846976}',
    ],
  ];
  for (const [name, value, type, json, text] of cases) {
    await t.step(name, () => {
      assert.equal(jsonText(jsonValue(value, type)), json);
      assert.equal(cellText(value, type), text);
    });
  }
});
