/**
 * Models people bring, for the tests of every mode: the small synthetic
 * ones of `fixtures/models/byom` (one of each kind) and the real exports of
 * `fixtures/real-exports`, each with rows to score and what onnxruntime run
 * directly on those rows returns, so every transport can be checked for the
 * same bits.
 */
import * as ort from "onnxruntime-node";
import { join } from "node:path";
import type { Model } from "../src/model/mod.ts";
import { unzipMaps } from "../src/model/zipmap.ts";
import { FIXTURES } from "./helpers.ts";

/** One model and rows to score. */
export interface ByomCase {
  name: string;
  path: string;
  /** Rows keyed by the model's columns (an [N,K] input as its K columns). */
  rows: Record<string, unknown>[];
}

const SYNTHETIC = join(FIXTURES, "models", "byom");
/** The same models as the external-data ones of `byom`, every tensor inside the `.onnx`. */
export const EMBEDDED = join(FIXTURES, "models", "external_data", "embedded");
/** Models whose weights are external data -> their twin with embedded weights, what onnxruntime runs directly. */
const TWINS = new Map(
  ["external_data", "external_data_zipmap"].map((name) => [join(SYNTHETIC, name), join(EMBEDDED, name, "model.onnx")]),
);
/** The real exports, and what SOURCES recorded for them. */
export const REAL = join(FIXTURES, "real-exports");

/** What onnxruntime returned for each real export when it was collected (row 0 fed first). */
export interface RecordedRun {
  inputs: Record<string, { type: string; row0: unknown[] }>;
  outputs: Record<string, { type: string; shape: number[]; data: unknown[] }>;
}

/** expected.json of the real exports. */
export const RECORDED: Record<string, RecordedRun> = JSON.parse(
  await Deno.readTextFile(join(REAL, "expected.json")),
);

/** The synthetic models, each with rows that exercise it. */
export const SYNTHETIC_CASES: ByomCase[] = [
  {
    name: "nk_regressor",
    path: join(SYNTHETIC, "nk_regressor"),
    rows: [
      { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
      { sepal_length: 6.7, sepal_width: 3.1, petal_length: 4.4, petal_width: 1.4 },
      { sepal_length: 6.3, sepal_width: 2.9, petal_length: 5.6, petal_width: 1.8 },
    ],
  },
  ...["zipmap_strings", "zipmap_int64"].map((name) => ({
    name,
    path: join(SYNTHETIC, name),
    rows: [[1, 2, 3], [3, -1, 0.5], [-2, 4, 1], [0.25, 0.5, -0.75]].map((v) => vectorRow("float_input", v)),
  })),
  {
    name: "fixed_batch",
    path: join(SYNTHETIC, "fixed_batch"),
    rows: [[1, 2, 3], [4, 5, 6], [-1, 0.5, 2]].map((v) => vectorRow("x", v)),
  },
  {
    name: "mixed",
    path: join(SYNTHETIC, "mixed"),
    rows: [
      { color: "red", features_0: 1.5, features_1: -2, features_2: 0.25, counts_0: 3, counts_1: 7 },
      { color: "blue", features_0: 0, features_1: 1, features_2: 2, counts_0: -1, counts_1: 40 },
      { color: "purple", features_0: 9, features_1: 8, features_2: 7, counts_0: 0, counts_1: 0 },
    ],
  },
  {
    name: "wrong_shape",
    path: join(SYNTHETIC, "wrong_shape"),
    rows: [[1, 2], [5, -3], [0.5, 0.75]].map((v) => vectorRow("x", v)),
  },
  {
    name: "old_onnxmltools",
    path: join(SYNTHETIC, "old_onnxmltools"),
    rows: [[1, 0], [2, 1], [-0.5, 3]].map((v) => vectorRow("x", v)),
  },
  {
    name: "dynamic_k",
    path: join(SYNTHETIC, "dynamic_k"),
    rows: [{ a: 1, b: 2, c: 3.5 }, { a: -1, b: 0.25, c: 8 }],
  },
  ...["svc_strings", "svc_pairwise"].map((name) => ({
    name,
    path: join(SYNTHETIC, name),
    rows: [[1, 0, 0.5], [-1, -1, 0], [0.25, 2, -0.5]].map((v) => vectorRow("float_input", v)),
  })),
  {
    name: "linear_int64_labels",
    path: join(SYNTHETIC, "linear_int64_labels"),
    rows: [[1, 2, 3], [3, -1, 0.5], [-2, 4, 1]].map((v) => vectorRow("x", v)),
  },
  {
    name: "onehot",
    path: join(SYNTHETIC, "onehot"),
    // "purple" and 99 are categories the model has never seen: by default it scores them as its encoders do.
    rows: [
      { color: "red", zone: 10, distance: 1.5 },
      { color: "blue", zone: 30, distance: -2 },
      { color: "purple", zone: 99, distance: 0.25 },
    ],
  },
  {
    name: "external_data",
    path: join(SYNTHETIC, "external_data"),
    rows: [[1, 2, 3, 4], [-0.5, 0.25, 8, -3], [0, 0, 0, 0], [2.5, -1, 0.5, 1]].map((v) => vectorRow("features", v)),
  },
  {
    name: "external_data_zipmap",
    path: join(SYNTHETIC, "external_data_zipmap"),
    rows: [[1, 2, 3], [3, -1, 0.5], [-2, 4, 1], [0.25, 0.5, -0.75]].map((v) => vectorRow("float_input", v)),
  },
];

/** The real exports, each with the recorded row 0 and a second row made from it (to score several rows). */
export const REAL_CASES: ByomCase[] = Object.entries(RECORDED).map(([name, run]) => {
  const row0: Record<string, unknown> = {};
  const row1: Record<string, unknown> = {};
  for (const [input, { type, row0: values }] of Object.entries(run.inputs)) {
    // An [N,1] input is fed from a column named after it.
    const names = values.length === 1 ? [input] : values.map((_, k) => `${input}_${k}`);
    names.forEach((c, k) => {
      row0[c] = values[k];
      row1[c] = typeof values[k] === "number" && type.startsWith("float")
        ? (values[k] as number) * 0.9 + 0.5
        : values[k];
    });
  }
  return { name, path: join(REAL, name), rows: [row0, row1] };
});

/** A row giving an [N,K] input's values as `<input>_<k>` columns. */
export function vectorRow(input: string, values: unknown[]): Record<string, unknown> {
  return Object.fromEntries(values.map((v, k) => [`${input}_${k}`, v]));
}

/** The same row with each [N,K] input's values as one list under the input's name (JSON's array form). */
export function packedRow(model: Model, row: Record<string, unknown>): Record<string, unknown> {
  const out = { ...row };
  for (const input of model.inputs) {
    if (!input.vector) continue;
    out[input.name] = input.columns.map((c) => row[c]);
    for (const c of input.columns) delete out[c];
  }
  return out;
}

/**
 * What onnxruntime returns for `rows` run directly (no code of ours but the
 * ZipMap rewrite for a ZipMap's probabilities, which onnxruntime-node cannot
 * return otherwise): per output name, per row, the row's values in order.
 * A model with a fixed batch size is run one row at a time; a model whose
 * weights are external data is run as its twin with the weights inside.
 *
 * @example
 * ```ts
 * const direct = await directRun(model, rows); direct.get("variable")![0]; // [20850.2...]
 * ```
 */
export async function directRun(model: Model, rows: Record<string, unknown>[]): Promise<Map<string, unknown[][]>> {
  const original = await Deno.readFile(
    TWINS.get(model.path) ?? (model.path.endsWith(".onnx") ? model.path : join(model.path, "model.onnx")),
  );
  const bytes = unzipMaps(original)?.bytes ?? original;
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  });
  const out = new Map<string, unknown[][]>(model.outputs.map((o) => [o.name, []]));
  try {
    const runs = model.fixedBatch === null ? [rows] : rows.map((r) => [r]);
    for (const part of runs) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const input of model.inputs) {
        const values = part.flatMap((row) => input.columns.map((c) => row[c]));
        const dims = input.shape.length === 2 ? [part.length, input.columns.length] : [part.length];
        feeds[input.name] = new ort.Tensor(input.type, typed(input.type, values) as never, dims);
      }
      const results = await session.run(feeds, model.outputs.map((o) => o.name));
      for (const o of model.outputs) {
        const data = results[o.name].data as ArrayLike<unknown>;
        const k = data.length / part.length;
        for (let r = 0; r < part.length; r++) {
          out.get(o.name)!.push(Array.from({ length: k }, (_, j) => data[r * k + j]));
        }
      }
    }
  } finally {
    await session.release();
  }
  return out;
}

/** Our prediction's values of row `r` for each output, as `directRun` gives them. */
export function predictedRow(
  model: Model,
  columns: Record<string, ArrayLike<unknown>>,
  r: number,
): Map<string, unknown[]> {
  return new Map(model.outputs.map((o) => [o.name, o.columns.map((c) => columns[c][r])]));
}

function typed(type: string, values: unknown[]) {
  const nums = values as number[];
  switch (type) {
    case "float32":
      return Float32Array.from(values.map((v) => v === null ? NaN : Number(v)));
    case "float64":
      return Float64Array.from(values.map((v) => v === null ? NaN : Number(v)));
    case "int64":
      return BigInt64Array.from(values.map((v) => BigInt(v as number)));
    case "int32":
      return Int32Array.from(nums);
    case "string":
      return values.map(String);
    case "bool":
      return Uint8Array.from(values.map((v) => (v ? 1 : 0)));
    default:
      throw new Error(`no direct feed for ${type} in the tests`);
  }
}

/**
 * Row `r` of a direct run as a JSON answer gives it: each output's columns, or for a classifier's probabilities
 * (with or without a ZipMap) one object keyed by class label; int64 as numbers (text beyond 2^53), NaN as null.
 */
export function expectedJson(model: Model, direct: Map<string, unknown[][]>, r: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of model.outputs) {
    const values = direct.get(o.name)![r].map(jsonOf);
    if (o.labels) out[o.key] = Object.fromEntries(o.labels.map((l, i) => [l, values[i]]));
    else o.columns.forEach((c, i) => (out[c] = values[i]));
  }
  return out;
}

/** A value as our JSON answers give it, read back exactly (`parseJson`): int64 as a number, a bigint beyond 2^53; NaN as null. */
export function jsonOf(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v;
  if (typeof v === "number" && !Number.isFinite(v)) return null;
  return v;
}

/** Every case, synthetic then real. */
export const ALL_CASES: ByomCase[] = [...SYNTHETIC_CASES, ...REAL_CASES];
