/**
 * How a model's outputs become columns. The width of a row is what a trial
 * run returns, not what the file declares: exporters get declared output
 * shapes wrong (`[N]` that returns `[N,2]`, `[1]` that returns `[N]`), and
 * onnxruntime returns the real tensor regardless.
 */
import type * as ort from "onnxruntime-node";
import type { DescribedSession } from "./session_client.ts";
import type { TensorType } from "./coerce.ts";
import { isTensorType } from "./tensor_types.ts";
import type { ClassLabels } from "./class_labels.ts";
import type { Manifest } from "./manifest.ts";
import type { InputSpec, OutputSpec } from "./specs.ts";
import { ModelError } from "./model_error.ts";
import { zeroFeeds } from "./zero_feeds.ts";

/** What `outputLayout` needs besides the session. */
export interface OutputLayoutOptions {
  manifest: Manifest;
  inputs: readonly InputSpec[];
  fixedBatch: number | null;
  /** Class labels of the outputs a ZipMap fed, by output name. */
  zipLabels: ReadonlyMap<string, string[]>;
  /**
   * Class labels of the outputs a classifier node's probabilities feed without a ZipMap, by output name: used
   * only when a row of the output has exactly one value per label.
   */
  classLabels?: ReadonlyMap<string, ClassLabels>;
  /** Output renames: ONNX output name or column -> new name. */
  renames?: Record<string, string>;
  /** Names the file in messages. */
  where: string;
}

/**
 * The tensor outputs and their columns; anything worth a log line goes to
 * `warnings`.
 *
 * @example
 * ```ts
 * const outputs = await outputLayout(session, { manifest, inputs, fixedBatch: null, zipLabels, where }, warnings);
 * outputs[0].columns; // ["output_probability_setosa", "output_probability_versicolor", ...]
 * ```
 */
export async function outputLayout(
  session: DescribedSession,
  options: OutputLayoutOptions,
  warnings: string[],
): Promise<OutputSpec[]> {
  const { manifest, renames, where } = options;
  const tensors = session.outputMetadata.filter((m) => {
    if (m.isTensor && isTensorType(m.type)) return true;
    warnings.push(`Output "${m.name}" of model ${where} is not a tensor of a supported type; it is left out`);
    return false;
  }) as ort.InferenceSession.TensorValueMetadata[];
  if (tensors.length === 0) throw ModelError.badModel(`Model ${where} has no tensor output to predict`);
  const rows = options.fixedBatch ?? 2;
  const found = await trialRun(session, options.inputs, rows, tensors.map((m) => m.name), warnings, where);
  const outputs: OutputSpec[] = [];
  for (const m of tensors) {
    let rowDims = m.shape.slice(1);
    const dims = found?.get(m.name);
    if (dims !== undefined) {
      if (dims.length === 0 || dims[0] !== rows) {
        warnings.push(
          `Output "${m.name}" of model ${where} is not one value per row (a run of ${rows} rows gave ` +
            `[${dims}]); it is left out`,
        );
        continue;
      }
      rowDims = dims.slice(1);
    }
    const width = rowDims.reduce<number>((w, d) => w * (typeof d === "number" && d > 0 ? d : 1), 1);
    const spec = manifest.outputs?.[m.name] ?? {};
    const key = renames?.[m.name] ?? spec.rename ?? m.name;
    const zipped = options.zipLabels.get(m.name);
    const graph = options.classLabels?.get(m.name);
    const labels = zipped ??
      (graph !== undefined && rowDims.length === 1 && graph.labels.length === width ? graph.labels : undefined);
    const labelsFrom = zipped !== undefined ? "ZipMap" : graph?.from;
    if (spec.labels && spec.labels.length !== width) {
      throw ModelError.badModel(
        `Output "${m.name}" of ${where} has ${width} ${width === 1 ? "column" : "columns"} but the manifest's ` +
          `"outputs.${m.name}.labels" gives ${spec.labels.length}`,
      );
    }
    const columns = spec.labels ??
      (width === 1 && rowDims.length <= 1
        ? [key]
        : Array.from({ length: width }, (_, i) => `${key}_${labels?.[i] ?? i}`));
    outputs.push({
      name: m.name,
      type: m.type as TensorType,
      shape: [options.fixedBatch ?? (typeof m.shape[0] === "string" ? m.shape[0] : ""), ...rowDims],
      key,
      columns: columns.map((c) => renames?.[c] ?? c),
      ...(labels ? { labels, labelsFrom } : {}),
    });
  }
  if (outputs.length === 0) throw ModelError.badModel(`Model ${where} has no output with one value per row`);
  return outputs;
}

/** Runs `rows` rows of zeros (empty strings, false) and returns each output's dims, or undefined if the run fails. */
async function trialRun(
  session: DescribedSession,
  inputs: readonly InputSpec[],
  rows: number,
  names: string[],
  warnings: string[],
  where: string,
): Promise<Map<string, readonly number[]> | undefined> {
  const feeds = zeroFeeds(inputs, rows);
  try {
    const results = await session.run(feeds, names);
    const dims = new Map<string, readonly number[]>();
    for (const name of names) {
      const t = results[name] as ort.Tensor;
      dims.set(name, t.dims);
      t.dispose();
    }
    return dims;
  } catch (err) {
    warnings.push(
      `A trial run of model ${where} on zeros failed (${(err as Error).message}); ` +
        `output columns follow the declared shapes`,
    );
    return undefined;
  } finally {
    for (const t of Object.values(feeds)) t.dispose();
  }
}
