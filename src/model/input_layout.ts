/**
 * How a model's inputs are fed from columns: an `[N]` or `[N,1]` input
 * from one column, an `[N,K]` input from K columns (`<input>_0`… or the
 * manifest's `columns`), and the batch dimension a model may fix.
 */
import type * as ort from "onnxruntime-node";
import type { Manifest } from "./manifest.ts";
import type { InputSpec } from "./specs.ts";
import { ModelError } from "./model_error.ts";
import { isTensorType } from "./tensor_types.ts";

/**
 * The input specs of a session and the batch size the model fixes (null
 * when every input takes any number of rows). `where` names the file in
 * error messages.
 *
 * @example
 * ```ts
 * const { inputs, fixedBatch } = inputLayout(session.inputMetadata, manifest, "iris/model.onnx");
 * inputs[0].columns; // ["float_input_0", "float_input_1", "float_input_2", "float_input_3"]
 * ```
 */
export function inputLayout(
  metadata: readonly ort.InferenceSession.ValueMetadata[],
  manifest: Manifest,
  where: string,
): { inputs: InputSpec[]; fixedBatch: number | null } {
  const fixed = new Map<string, number>();
  const inputs = metadata.map((m): InputSpec => {
    if (!m.isTensor) throw ModelError.badModel(`Input "${m.name}" of ${where} is not a tensor`);
    const shape = m.shape;
    if (!isTensorType(m.type) || shape.length < 1 || shape.length > 2) {
      throw ModelError.badModel(
        `Input "${m.name}" of ${where} is ${m.type} [${shape.map(dim)}]; only inputs of shape [N] or [N,K] ` +
          `with a numeric, bool or string type are supported`,
      );
    }
    if (typeof shape[0] === "number" && shape[0] > 0) fixed.set(m.name, shape[0]);
    const spec = manifest.inputs?.[m.name] ?? {};
    const width = shape.length === 2 ? shape[1] : 1;
    const dynamic = typeof width !== "number" || width < 0;
    if (dynamic && spec.columns === undefined) {
      throw ModelError.badModel(
        `Input "${m.name}" of ${where} is ${m.type} [${shape.map(dim)}]: its width is dynamic, so the manifest ` +
          `must name its columns: "inputs": {"${m.name}": {"columns": [...]}}`,
      );
    }
    if (!dynamic && spec.columns !== undefined && spec.columns.length !== width) {
      throw ModelError.badModel(
        `Input "${m.name}" of ${where} takes ${width} values per row but the manifest's ` +
          `"inputs.${m.name}.columns" names ${spec.columns.length}: ${spec.columns.map((c) => `"${c}"`).join(", ")}`,
      );
    }
    const vector = dynamic || (width as number) > 1;
    const columns = spec.columns ??
      (vector ? Array.from({ length: width as number }, (_, k) => `${m.name}_${k}`) : [m.name]);
    return {
      name: m.name,
      type: m.type,
      shape,
      columns,
      vector,
      aliases: spec.aliases ?? [],
      required: spec.required ?? false,
      fixedBatch: fixed.get(m.name) ?? null,
    };
  });
  const sizes = new Set(fixed.values());
  if (sizes.size > 1) {
    throw ModelError.badModel(
      `The inputs of ${where} fix different batch sizes (${[...fixed].map(([n, b]) => `"${n}": ${b}`).join(", ")})`,
    );
  }
  return { inputs, fixedBatch: sizes.size === 1 ? [...sizes][0] : null };
}

/** A dimension as messages print it: `?` for a dynamic one. */
export function dim(d: number | string): string {
  if (typeof d === "number") return d >= 0 ? String(d) : "?";
  return d || "?";
}
