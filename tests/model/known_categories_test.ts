/**
 * Known categories read off the graph: the encoders an input reaches
 * through ops that keep its values, column by column, on real exports and on
 * small graphs of each rule.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { knownCategories } from "../../src/model/known_categories.ts";
import {
  INT64,
  type ModelProto,
  type NodeProto,
  readModel,
  STRING,
  type ValueInfoProto,
} from "../../src/model/onnx_reader.ts";
import { REAL } from "../byom_cases.ts";
import { FIXTURES } from "../helpers.ts";

const BYOM = join(FIXTURES, "models", "byom");
const text = new TextEncoder();

async function categoriesOf(path: string) {
  return Object.fromEntries(knownCategories(readModel(await Deno.readFile(join(path, "model.onnx")))));
}

function input(name: string, elemType: number, width: number | null): ValueInfoProto {
  const dim = width === null ? [{ dimParam: "N" }] : [{ dimParam: "N" }, { dimValue: width }];
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

function node(opType: string, inputs: string[], output: string, attrs: Record<string, unknown> = {}): NodeProto {
  const attribute = Object.entries(attrs).map(([name, v]) => {
    if (Array.isArray(v) && typeof v[0] === "string") return { name, strings: v.map((s) => text.encode(s)) };
    if (Array.isArray(v)) return { name, ints: v as number[] };
    return { name, i: v as number };
  });
  const ml = ["OneHotEncoder", "LabelEncoder", "CategoryMapper", "ArrayFeatureExtractor"].includes(opType);
  return { opType, domain: ml ? "ai.onnx.ml" : "", input: inputs, output: [output], attribute };
}

function model(inputs: ValueInfoProto[], nodes: NodeProto[], indices: Record<string, number[]> = {}): ModelProto {
  const initializer = Object.entries(indices).map(([name, v]) => ({
    name,
    dataType: INT64,
    dims: [v.length],
    int64Data: v,
  }));
  return { graph: { input: inputs, node: nodes, initializer } };
}

Deno.test("knownCategories: real exports and fixtures", async (t) => {
  const cases: [string, string, Record<string, (string[] | null)[]>][] = [
    ["skl2onnx ColumnTransformer: a OneHotEncoder per string column", join(REAL, "skl_coltrans_car_price"), {
      brand: [["Audi", "BMW", "Ford", "Tesla", "Toyota", "VW"]],
      fuel_type: [["Diesel", "Electric", "Gasoline", "Hybrid"]],
    }],
    [
      "old onnxmltools: one [1,3] int64 input, a column each through ArrayFeatureExtractor",
      join(
        REAL,
        "onnxmltools_onehot_int64_fixed1",
      ),
      { input: [["0", "1", "4"], ["1", "2", "3", "5"], ["0", "3", "4", "6"]] },
    ],
    ["a string and an int64 OneHotEncoder (behind an Identity)", join(BYOM, "onehot"), {
      color: [["red", "green", "blue"]],
      zone: [["10", "20", "30"]],
    }],
    ["LabelEncoder opset 1 (classes_strings)", join(BYOM, "mixed"), { color: [["red", "green", "blue"]] }],
    ["no encoder", join(REAL, "torch_multi_io"), {}],
  ];
  for (const [name, path, want] of cases) {
    await t.step(name, async () => assert.deepEqual(await categoriesOf(path), want));
  }
  await t.step("skl_coltrans_used_car_linreg: all five string columns, 423 models", async () => {
    const found = await categoriesOf(join(REAL, "skl_coltrans_used_car_linreg"));
    assert.deepEqual(Object.keys(found), ["Brand", "model", "Transmission", "Owner", "FuelType"]);
    assert.equal(found.model[0]!.length, 423);
    assert.deepEqual(found.Owner, [["first", "second"]]);
  });
});

Deno.test("knownCategories: how an input is followed", async (t) => {
  const ohe = (from: string, cats: string[]) => node("OneHotEncoder", [from], `${from}_1hot`, { cats_strings: cats });
  const cases: [string, ModelProto, Record<string, (string[] | null)[]>][] = [
    [
      "Concat of two columns, then ArrayFeatureExtractor per column (skl2onnx's multi-column OneHotEncoder)",
      model([input("a", STRING, 1), input("b", STRING, 1)], [
        node("Concat", ["a", "b"], "ab", { axis: 1 }),
        node("ArrayFeatureExtractor", ["ab", "i0"], "a0"),
        ohe("a0", ["x", "y"]),
        node("ArrayFeatureExtractor", ["ab", "i1"], "b0"),
        ohe("b0", ["p", "q", "r"]),
      ], { i0: [0], i1: [1] }),
      { a: [["x", "y"]], b: [["p", "q", "r"]] },
    ],
    [
      "a OneHotEncoder over a Concat: the same categories for each column",
      model([input("a", STRING, 1), input("b", STRING, 1)], [
        node("Concat", ["a", "b"], "ab", { axis: 1 }),
        ohe("ab", ["x", "y"]),
      ]),
      { a: [["x", "y"]], b: [["x", "y"]] },
    ],
    [
      "a [N,2] input: only the column an encoder reads has categories",
      model([input("v", STRING, 2)], [node("Gather", ["v", "i"], "v1", { axis: 1 }), ohe("v1", ["x"])], { i: [1] }),
      { v: [null, ["x"]] },
    ],
    [
      "Reshape and Cast of one column keep it",
      model([input("a", STRING, 1)], [
        node("Reshape", ["a", "shape"], "a1"),
        node("Cast", ["a1"], "a2", { to: STRING }),
        ohe("a2", ["x"]),
      ], { shape: [-1, 1] }),
      { a: [["x"]] },
    ],
    [
      "Reshape of two columns ends the trace (they would be rearranged)",
      model([input("v", STRING, 2)], [node("Reshape", ["v", "shape"], "v1"), ohe("v1", ["x"])], { shape: [-1, 1] }),
      {},
    ],
    [
      "a string input cast to int64 keeps no int64 categories",
      model([input("a", STRING, 1)], [
        node("Cast", ["a"], "n", { to: INT64 }),
        node("OneHotEncoder", ["n"], "n_1hot", { cats_int64s: [1, 2] }),
      ]),
      {},
    ],
    [
      "an int64 input cast to float keeps its int64 categories",
      model([input("z", INT64, null)], [
        node("Cast", ["z"], "f", { to: 1 }),
        node("OneHotEncoder", ["f"], "f_1hot", { cats_int64s: [5, 6] }),
      ]),
      { z: [["5", "6"]] },
    ],
    [
      "LabelEncoder keys and CategoryMapper of the input's type; two encoders' categories joined",
      model([input("s", STRING, 1), input("z", INT64, 1)], [
        node("LabelEncoder", ["s"], "s_code", { keys_strings: ["x", "y"] }),
        node("CategoryMapper", ["s"], "s_map", { cats_strings: ["y", "w"], cats_int64s: [0, 1] }),
        node("CategoryMapper", ["z"], "z_map", { cats_strings: ["a", "b"], cats_int64s: [7, 8] }),
      ]),
      { s: [["x", "y", "w"]], z: [["7", "8"]] },
    ],
    [
      "an op that changes values (a Mul) ends the trace",
      model([input("z", INT64, 1)], [
        node("Mul", ["z", "two"], "z2"),
        node("OneHotEncoder", ["z2"], "z_1hot", { cats_int64s: [2, 4] }),
      ], { two: [2] }),
      {},
    ],
  ];
  for (const [name, m, want] of cases) {
    await t.step(name, () => assert.deepEqual(Object.fromEntries(knownCategories(m)), want));
  }
});
