import assert from "node:assert/strict";
import { parseJson } from "../src/json_text.ts";

Deno.test("parseJson keeps integers beyond 2^53 exact, and nothing else changes", async (t) => {
  const cases: [string, string, unknown][] = [
    ["a big integer", '{"id": 9007199254740993}', { id: 9007199254740993n }],
    ["a big negative integer", "[-9007199254740995]", [-9007199254740995n]],
    ["safe integers stay numbers", '{"a": 42, "b": -7}', { a: 42, b: -7 }],
    ["decimals and exponents stay numbers", "[1.5, 1e300, 12345678901234567890.5]", [1.5, 1e300, 12345678901234567000]],
    ["strings stay strings", '{"id": "9007199254740993"}', { id: "9007199254740993" }],
  ];
  for (const [name, text, want] of cases) await t.step(name, () => assert.deepEqual(parseJson(text), want));
  await t.step("invalid JSON still throws", () => assert.throws(() => parseJson("{nope"), SyntaxError));
});
