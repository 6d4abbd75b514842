/**
 * Rows of zeros (empty strings, false) for every input of a model: what a
 * trial run at load is made of, before any real row is known.
 */
import type * as ort from "onnxruntime-node";
import { onnxruntime } from "./onnxruntime.ts";
import type { InputSpec } from "./specs.ts";
import { STORAGE } from "./tensor_types.ts";

/**
 * `rows` rows of zeros for each input, in its own shape. Dispose the tensors after the run.
 *
 * @example
 * ```ts
 * const feeds = zeroFeeds(model.inputs, 2); // { trip_distance: Tensor float64 [0, 0], ... }
 * ```
 */
export function zeroFeeds(inputs: readonly InputSpec[], rows: number): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const { Tensor } = onnxruntime();
  for (const input of inputs) {
    const k = input.columns.length;
    const n = rows * k;
    const data = input.type === "string" ? new Array<string>(n).fill("") : new STORAGE[input.type](n);
    feeds[input.name] = new Tensor(input.type, data as never, input.shape.length === 2 ? [rows, k] : [rows]);
  }
  return feeds;
}
