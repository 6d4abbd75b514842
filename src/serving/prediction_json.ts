/**
 * One scored row as a JSON object, the form answers and events take: each
 * output column under its name, except a ZipMap classifier's probabilities,
 * which stay one object `{label: probability}` under the output's name, as
 * skl2onnx users know them from Python
 * (`{"output_label": "setosa", "output_probability": {"setosa": 0.97, ...}}`).
 */
import type { ValueType } from "../rows.ts";
import { jsonValue } from "../value_codec.ts";

/** What the JSON form of an output needs (a model's `OutputSpec` has it). */
export interface JsonOutput {
  /** The output's name in answers (its rename, else its name). */
  key: string;
  type: ValueType;
  columns: readonly string[];
  /** Class labels, one per column: the output is answered as an object keyed by them. */
  labels?: readonly string[];
}

/**
 * Row `r` of a prediction's columns as a JSON object (added to `into` when given).
 *
 * @example
 * ```ts
 * predictionJson(model.outputs, prediction.columns, 0);
 * // { output_label: "setosa", output_probability: { setosa: 0.97, versicolor: 0.02, virginica: 0.01 } }
 * ```
 */
export function predictionJson(
  outputs: readonly JsonOutput[],
  columns: Readonly<Record<string, ArrayLike<unknown>>>,
  r: number,
  into: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const o of outputs) {
    if (o.labels !== undefined) {
      const byLabel: Record<string, unknown> = {};
      for (let c = 0; c < o.columns.length; c++) byLabel[o.labels[c]] = jsonValue(columns[o.columns[c]][r], o.type);
      into[o.key] = byLabel;
    } else {
      for (const c of o.columns) into[c] = jsonValue(columns[c][r], o.type);
    }
  }
  return into;
}
