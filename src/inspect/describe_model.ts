/**
 * What a user needs in the first minute with a model: its inputs and
 * outputs as `score` reads them, the columns a row needs, and requests
 * ready to send (`/predict`, OIP infer) with an example row.
 */
import type { Model, TensorType } from "../model/mod.ts";
import { modelMetadata } from "../serving/oip.ts";
import { csvHeader } from "../sinks/csv_text.ts";

/** One input as `score` feeds it. */
export interface InputDescription {
  name: string;
  type: TensorType;
  /** The declared shape, dynamic dimensions as "N" (batch) or "?" (others). */
  shape: string[];
  /** The columns a row gives for it, one per value. */
  columns: string[];
  /** Whether a JSON row may give its values as one list under the input's name. */
  list: boolean;
  aliases: string[];
  required: boolean;
  /** The batch size this input fixes, or null. */
  fixedBatch: number | null;
  /**
   * The categories the model knows for each column (as its encoders list them; int64 in decimal), null for a
   * column no encoder reads; null for an input without any.
   */
  categories: (string[] | null)[] | null;
}

/** One output as `score` answers it. */
export interface OutputDescription {
  name: string;
  type: TensorType;
  shape: string[];
  /** The key of JSON answers. */
  key: string;
  columns: string[];
  /** The class labels of a classifier's probabilities (one per column, as JSON answers key them), or null. */
  labels: string[] | null;
  /**
   * Where the labels were read: `ZipMap` (rewritten to a probability tensor at load), or the classifier node's op
   * (`LinearClassifier`, `SVMClassifier`, `TreeEnsembleClassifier`); null without labels.
   */
  labelsFrom: string | null;
}

/** A request ready to send. */
export interface ExampleRequest {
  url: string;
  body: unknown;
  /** The same as a `curl` command line. */
  curl: string;
}

/** Everything `score inspect` prints. */
export interface ModelDescription {
  name: string;
  version: string;
  description: string;
  path: string;
  /** The batch size the model fixes (rows are scored in runs of it), or null for any number of rows. */
  fixedBatch: number | null;
  inputs: InputDescription[];
  outputs: OutputDescription[];
  /** The columns a row needs, in input order: a CSV header for `score batch`. */
  columns: string[];
  /** An example row: a known category where the model lists some, else a placeholder value of the right type. */
  exampleRow: Record<string, unknown>;
  predict: ExampleRequest;
  infer: ExampleRequest;
  csvHeader: string;
  warnings: string[];
}

/** The placeholder of each element type in the example row. */
const EXAMPLE: Record<TensorType, unknown> = {
  float32: 0.5,
  float64: 0.5,
  int8: 1,
  int16: 1,
  int32: 1,
  int64: 1,
  uint8: 1,
  uint16: 1,
  uint32: 1,
  uint64: 1,
  bool: false,
  string: "a",
};

/**
 * Describes a loaded model; `baseUrl` is where `score serve` listens.
 *
 * @example
 * ```ts
 * const d = describeModel(await loadModel("models/ride-duration-linreg"), "http://localhost:9696");
 * d.csvHeader; // "PULocationID,DOLocationID,trip_distance"
 * ```
 */
export function describeModel(model: Model, baseUrl: string): ModelDescription {
  const base = baseUrl.replace(/\/+$/, "");
  const inputs = model.inputs.map((i): InputDescription => ({
    name: i.name,
    type: i.type,
    shape: shapeText(i.shape),
    columns: [...i.columns],
    list: i.vector,
    aliases: [...i.aliases],
    required: i.required,
    fixedBatch: i.fixedBatch,
    categories: i.categories ? i.categories.map((c) => c ? [...c] : null) : null,
  }));
  const outputs = model.outputs.map((o): OutputDescription => ({
    name: o.name,
    type: o.type,
    shape: shapeText(o.shape),
    key: o.key,
    columns: [...o.columns],
    labels: o.labels ? [...o.labels] : null,
    labelsFrom: o.labels ? o.labelsFrom ?? null : null,
  }));
  const columns = inputs.flatMap((i) => i.columns);
  const examples = model.inputs.map((i) => i.columns.map((_, k) => example(i.type, i.categories?.[k])));
  const exampleRow = Object.fromEntries(inputs.flatMap((i, n) => i.columns.map((c, k) => [c, examples[n][k]])));
  const metadata = modelMetadata(model);
  const inferBody = {
    inputs: model.inputs.map((input, k) => {
      const values = examples[k];
      return {
        name: input.name,
        shape: input.shape.length === 1 ? [1] : [1, values.length],
        datatype: metadata.inputs[k].datatype,
        data: values,
      };
    }),
  };
  const predictUrl = `${base}/predict`;
  const inferUrl = `${base}/v2/models/${encodeURIComponent(model.name)}/infer`;
  return {
    name: model.name,
    version: model.version,
    description: model.description,
    path: model.path,
    fixedBatch: model.fixedBatch,
    inputs,
    outputs,
    columns,
    exampleRow,
    predict: { url: predictUrl, body: exampleRow, curl: curl(predictUrl, exampleRow) },
    infer: { url: inferUrl, body: inferBody, curl: curl(inferUrl, inferBody) },
    csvHeader: csvHeader(columns).trimEnd(),
    warnings: [...model.warnings],
  };
}

/** A column's example value: the first category the model knows, else the type's placeholder. */
function example(type: TensorType, categories: readonly string[] | null | undefined): unknown {
  const first = categories?.[0];
  if (first === undefined) return EXAMPLE[type];
  if (type !== "int64") return first;
  // An int64 category beyond what a double holds exactly goes as text, which the model reads back exactly.
  return Number.isSafeInteger(Number(first)) ? Number(first) : first;
}

function shapeText(shape: ReadonlyArray<number | string>): string[] {
  return shape.map((d, i) => typeof d === "number" && d >= 0 ? String(d) : i === 0 ? "N" : "?");
}

function curl(url: string, body: unknown): string {
  return `curl -s ${shellWord(url)} -H 'content-type: application/json' -d ${shellWord(JSON.stringify(body))}`;
}

/** A word the shell reads back unchanged: single quotes, a quote inside as '\''. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
