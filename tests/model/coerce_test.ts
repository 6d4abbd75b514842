import assert from "node:assert/strict";
import { coerceColumn, type TensorType } from "../../src/model/coerce.ts";

interface Case {
  name: string;
  type: TensorType;
  values: unknown[];
  data: unknown[];
  failures?: [number, string][];
  required?: boolean;
}

const NOT_TEXT = "holds a NUL character or a lone surrogate (a string tensor takes text without either)";
const cases: Case[] = [
  {
    name: "float64 from numbers, numeric text and bigints",
    type: "float64",
    values: [1.5, " 2.25 ", 3n, "1e3"],
    data: [1.5, 2.25, 3, 1000],
  },
  {
    name: "float64: blank and null are NaN",
    type: "float64",
    values: ["", null, undefined, "NaN"],
    data: [NaN, NaN, NaN, NaN],
  },
  {
    name: "float64: text and booleans are rejected alone",
    type: "float64",
    values: [1, "abc", true, 4],
    data: [1, 0, 0, 4],
    failures: [[1, "is not a number"], [2, "is not a number"]],
  },
  {
    name: "float64 required: blank, null and NaN are missing",
    type: "float64",
    required: true,
    values: [1, "", null, "NaN", NaN],
    data: [1, 0, 0, 0, 0],
    failures: [[1, "is missing"], [2, "is missing"], [3, "is missing"], [4, "is missing"]],
  },
  {
    name: "float64: infinities, overflow, hex and words are rejected",
    type: "float64",
    values: ["Infinity", "-Infinity", 1 / 0, "1e400", "0x10", "1_000", "12abc", " -1.5e3 ", ".5", "5."],
    data: [0, 0, 0, 0, 0, 0, 0, -1500, 0.5, 5],
    failures: [
      [0, "is not a number"],
      [1, "is not a number"],
      [2, "is not a finite number"],
      [3, "is not a finite number"],
      [4, "is not a number"],
      [5, "is not a number"],
      [6, "is not a number"],
    ],
  },
  { name: "float32 keeps float32 precision", type: "float32", values: [0.1], data: [Math.fround(0.1)] },
  {
    name: "int64 from numbers, text and bigints",
    type: "int64",
    values: [130, "205", " 7 ", 9n, "12.0", 3.0],
    data: [130n, 205n, 7n, 9n, 12n, 3n],
  },
  {
    name: "int64: fractions, text, null and blanks are rejected",
    type: "int64",
    values: [1.5, "x", null, "", NaN],
    data: [0n, 0n, 0n, 0n, 0n],
    failures: [[0, "is not an integer"], [1, "is not an integer"], [2, "is missing"], [3, "is missing"], [
      4,
      "is missing",
    ]],
  },
  {
    name: "int64 and uint64 from safe integers of both signs and both words",
    type: "int64",
    values: [-1, -4294967297, 4294967296, 2 ** 53 - 1, -(2 ** 53 - 1)],
    data: [-1n, -4294967297n, 4294967296n, 2n ** 53n - 1n, -(2n ** 53n - 1n)],
  },
  {
    name: "uint64 refuses a negative number",
    type: "uint64",
    values: [4294967296, -1, 0],
    data: [4294967296n, 0n, 0n],
    failures: [[1, "is out of range for uint64"]],
  },
  {
    name: "int64: past 2^63 is out of range",
    type: "int64",
    values: ["9223372036854775808"],
    data: [0n],
    failures: [[0, "is out of range for int64"]],
  },
  { name: "int32 in range", type: "int32", values: [-5, "2147483647"], data: [-5, 2147483647] },
  {
    name: "int32 out of range",
    type: "int32",
    values: [2147483648],
    data: [0],
    failures: [[0, "is out of range for int32"]],
  },
  {
    name: "uint8 refuses negatives",
    type: "uint8",
    values: [255, -1],
    data: [255, 0],
    failures: [[1, "is out of range for uint8"]],
  },
  {
    name: "bool from booleans, 0/1 and words",
    type: "bool",
    values: [true, false, 1, 0, "yes", "No", "TRUE", "f"],
    data: [1, 0, 1, 0, 1, 0, 1, 0],
  },
  {
    name: "bool: other values are rejected",
    type: "bool",
    values: ["maybe", null, 2],
    data: [0, 0, 0],
    failures: [[0, "is not a boolean"], [1, "is missing"], [2, "is not a boolean"]],
  },
  {
    name: "string from strings, numbers, bools",
    type: "string",
    values: ["a", 5, true, 7n, ""],
    data: ["a", "5", "true", "7", ""],
  },
  {
    name: "string: null and objects are rejected",
    type: "string",
    values: [null, { a: 1 }],
    data: ["", ""],
    failures: [[0, "is missing"], [1, "is not a string"]],
  },
  {
    name: "string: a NUL or a lone surrogate is rejected (onnxruntime would cut or replace it); a pair is text",
    type: "string",
    values: ["red\0garbage", "a\uD800b", "\uDC00", "\uD83D\uDE42", "π"],
    data: ["", "", "", "\uD83D\uDE42", "π"],
    failures: [[0, NOT_TEXT], [1, NOT_TEXT], [2, NOT_TEXT]],
  },
];

Deno.test("coerceColumn", async (t) => {
  for (const c of cases) {
    await t.step(c.name, () => {
      const { data, failures } = coerceColumn(c.values, c.type, { required: c.required });
      assert.deepEqual(Array.from(data as ArrayLike<unknown>), c.data);
      assert.deepEqual(failures.map((f) => [f.index, f.reason]), c.failures ?? []);
    });
  }
  await t.step("typed arrays: NaN is missing when required", () => {
    const { failures } = coerceColumn(new Float64Array([1, NaN]), "float64", { required: true });
    assert.deepEqual(failures.map((f) => [f.index, f.reason]), [[1, "is missing"]]);
  });
  await t.step("typed arrays: an infinity is rejected", () => {
    const { failures } = coerceColumn(new Float64Array([1, Infinity, NaN]), "float64");
    assert.deepEqual(failures.map((f) => [f.index, f.reason]), [[1, "is not a finite number"]]);
  });
  await t.step("float32: a double beyond its range is rejected, given as text, a number or a typed array", () => {
    for (const values of [["1e39", "2", ""], [1e39, 2, null], new Float64Array([1e39, 2, NaN])]) {
      const { failures } = coerceColumn(values, "float32");
      assert.deepEqual(failures.map((f) => [f.index, f.reason]), [[0, "is not a finite number"]], String(values));
    }
  });
  await t.step("typed arrays of int64 are copied as they are", () => {
    const values = new BigInt64Array([1n, -(2n ** 63n), 2n ** 63n - 1n]);
    const { data, failures } = coerceColumn(values, "int64");
    assert.deepEqual(data, values);
    assert.notEqual(data, values, "a copy: the tensor must not alias the source's column");
    assert.deepEqual(failures, []);
  });
  await t.step("typed arrays of floats are copied as they are", () => {
    const { data, failures } = coerceColumn(new Float64Array([1, 2]), "float32");
    assert.deepEqual(data, new Float32Array([1, 2]));
    assert.deepEqual(failures, []);
  });
});
