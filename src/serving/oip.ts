/**
 * The Open Inference Protocol v2, typed and transport-neutral: model
 * metadata, and the infer request and result with typed, shaped tensors
 * (a typed array per tensor, a string array for BYTES), as MLServer's
 * `types/dataplane.py` holds them. The codecs live with their transport:
 * JSON in `src/http/oip_json.ts`, protobuf in `src/grpc/`.
 *
 * Requests are checked strictly, as Triton and MLServer do: every model
 * input once, the datatype the metadata declares, data matching the shape.
 * Each failure is a 400 naming the input; every transport says it in the
 * same words.
 */
import { InputError } from "../errors.ts";
import type { InputSpec, Model, OutputSpec, Prediction, TensorType } from "../model/mod.ts";
import type { TensorData } from "../model/coerce.ts";

export type { TensorData };

/** OIP datatype of each tensor type we serve. */
export const DATATYPES: Record<TensorType, string> = {
  bool: "BOOL",
  int8: "INT8",
  int16: "INT16",
  int32: "INT32",
  int64: "INT64",
  uint8: "UINT8",
  uint16: "UINT16",
  uint32: "UINT32",
  uint64: "UINT64",
  float32: "FP32",
  float64: "FP64",
  string: "BYTES",
};

/** The tensor type of each OIP datatype we serve (FP16 and the like are not). */
export const TENSOR_TYPES: Readonly<Record<string, TensorType>> = Object.fromEntries(
  Object.entries(DATATYPES).map(([type, datatype]) => [datatype, type as TensorType]),
);

/** A request's or a result's parameters: the protocol's typed values (int64 beyond 2^53 as a bigint). */
export type Parameters = Record<string, string | number | bigint | boolean>;

/**
 * One tensor: values row-major in the storage of its datatype (`STORAGE` in
 * `src/model/tensor_types.ts`; BOOL as 0/1 bytes, BYTES as strings). A float
 * NaN stands for a missing value (JSON's null).
 */
export interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  data: TensorData;
  parameters?: Parameters;
}

/** A typed infer request, whatever transport brought it. */
export interface InferenceRequest {
  id?: string;
  parameters?: Parameters;
  inputs: Tensor[];
  /** Outputs to answer, in the order asked; all when absent or empty. */
  outputs?: { name: string; parameters?: Parameters }[];
}

/** A typed infer result. */
export interface InferenceResult {
  modelName: string;
  modelVersion: string;
  id?: string;
  parameters?: Parameters;
  outputs: Tensor[];
}

/** A tensor's metadata as OIP lists it. */
export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
  /** Our addition for a ZipMap classifier's probabilities: the class label of each column. */
  parameters?: { labels: string[] };
}

/** The model metadata of the protocol. */
export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

/**
 * The model metadata: dynamic dimensions are `-1`, and so is the batch
 * dimension of a model that fixes it (any number of rows is accepted and run
 * in runs of its size). An `[N,K]` input is `[-1, K]`; a ZipMap classifier's
 * probabilities are FP32 `[-1, C]` with the class labels in `parameters.labels`.
 *
 * @example
 * ```ts
 * modelMetadata(model).inputs[0]; // { name: "PULocationID", datatype: "INT64", shape: [-1] }
 * ```
 */
export function modelMetadata(model: Model): ModelMetadata {
  return {
    name: model.name,
    versions: [model.version],
    platform: "onnx_onnxv1",
    inputs: model.inputs.map((i): TensorMetadata => ({
      name: i.name,
      datatype: DATATYPES[i.type],
      shape: i.vector ? [-1, i.columns.length] : [-1, ...dims(i.shape.slice(1))],
    })),
    outputs: model.outputs.map((o): TensorMetadata => ({
      name: o.name,
      datatype: DATATYPES[o.type],
      shape: [-1, ...dims(o.shape.slice(1))],
      ...(o.labels ? { parameters: { labels: o.labels } } : {}),
    })),
  };
}

/**
 * Checks one input tensor's name, datatype and shape against the model
 * (before its data is read) and returns the model input it feeds. `given`
 * collects the inputs seen so far, to refuse one given twice.
 *
 * @example
 * ```ts
 * const input = checkInput(model, { name: "trip_distance", datatype: "FP64", shape: [1] }, new Set());
 * ```
 */
export function checkInput(
  model: Model,
  tensor: { name: unknown; datatype: unknown; shape: unknown },
  given: Set<string>,
): InputSpec {
  const { name, datatype, shape } = tensor;
  const input = model.inputs.find((i) => i.name === name) ??
    model.inputs.find((i) => i.aliases.includes(name as string));
  if (input === undefined) {
    throw bad(
      `Unknown input "${name}" for model "${model.name}" (inputs: ${model.inputs.map((i) => i.name).join(", ")})`,
    );
  }
  if (given.has(input.name)) throw bad(`Input "${input.name}" is given twice`);
  given.add(input.name);
  const expected = DATATYPES[input.type];
  if (datatype !== expected) {
    throw bad(`Input "${name}" has datatype ${JSON.stringify(datatype)}; the model expects ${expected}`);
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0) || shape.length === 0) {
    throw bad(`Input "${name}" needs a "shape": a list of non-negative whole numbers`);
  }
  const width = input.columns.length;
  const fits = input.vector
    ? shape.length === 2 && shape[1] === width
    : shape.slice(1).every((d) => d === 1) && shape.length <= 2;
  if (!fits) {
    throw bad(
      `Input "${name}" has shape [${shape}]; the model takes ${input.vector ? `[N, ${width}]` : "[N] or [N, 1]"}`,
    );
  }
  return input;
}

/** Checks that a tensor holds as many values as its shape says, and as many rows as the inputs before it. */
export function checkCount(name: string, shape: readonly number[], width: number, count: number, rows?: number) {
  if (count !== shape[0] * width) {
    throw bad(`Input "${name}" has ${count} values but its shape [${shape}] needs ${shape[0] * width}`);
  }
  if (rows !== undefined && shape[0] !== rows) {
    throw bad(`Input "${name}" has ${shape[0]} rows but another input has ${rows}`);
  }
}

/** Refuses a request missing a model input, or with no rows. */
export function checkComplete(model: Model, given: ReadonlySet<string>, rows: number | undefined) {
  const missing = model.inputs.filter((i) => !given.has(i.name)).map((i) => `"${i.name}"`);
  if (missing.length > 0) {
    throw bad(`Missing ${missing.length === 1 ? "input" : "inputs"} for model "${model.name}": ${missing.join(", ")}`);
  }
  if (rows === 0) throw bad("The request has no rows to score (shape [0])");
}

/** The outputs a request names, in its order (all when it names none); an unknown name is a 400. */
export function selectOutputs(names: readonly string[] | undefined, model: Model): readonly OutputSpec[] {
  if (names === undefined) return model.outputs;
  const chosen: OutputSpec[] = [];
  for (const name of names) {
    const spec = model.outputs.find((x) => x.name === name || x.columns.includes(name));
    if (spec === undefined) {
      throw bad(
        `Unknown output "${name}" for model "${model.name}" (outputs: ${model.outputs.map((x) => x.name).join(", ")})`,
      );
    }
    if (!chosen.includes(spec)) chosen.push(spec);
  }
  return chosen.length === 0 ? model.outputs : chosen;
}

/** A checked request as the batcher takes it. */
export interface InferColumns {
  /** Columns keyed by model input column (an `[N,K]` input's K columns by its `columns`). */
  columns: Record<string, ArrayLike<unknown>>;
  /** The model input type of each column, for the prediction log. */
  types: Record<string, TensorType>;
  length: number;
  outputs: readonly OutputSpec[];
}

/**
 * Checks a typed request against the model and lays its tensors out as the
 * batcher's columns: an `[N]` tensor is its column as it is; an `[N,K]`
 * one is split into its K columns.
 *
 * @example
 * ```ts
 * const { columns, length } = inferColumns(request, model);
 * await batcher.predict(columns, length);
 * ```
 */
export function inferColumns(request: InferenceRequest, model: Model): InferColumns {
  if (request.inputs.length === 0) throw bad(`"inputs" must be a non-empty array of tensors`);
  const columns: Record<string, ArrayLike<unknown>> = {};
  const types: Record<string, TensorType> = {};
  const given = new Set<string>();
  let length: number | undefined;
  for (const tensor of request.inputs) {
    const input = checkInput(model, tensor, given);
    const width = input.columns.length;
    checkCount(tensor.name, tensor.shape, width, tensor.data.length, length);
    length = tensor.shape[0];
    for (const c of input.columns) types[c] = input.type;
    if (width === 1) columns[input.columns[0]] = tensor.data;
    else for (let c = 0; c < width; c++) columns[input.columns[c]] = strided(tensor.data, c, width, length);
  }
  checkComplete(model, given, length);
  return { columns, types, length: length!, outputs: selectOutputs(request.outputs?.map((o) => o.name), model) };
}

/**
 * The result for a prediction of the request's rows: each output row-major
 * in its type's storage. A rejected row fails the request with a 400 naming it.
 *
 * @example
 * ```ts
 * inferResult(model, request, outputs, prediction).outputs[0]; // { name: "duration", datatype: "FP64", shape: [1], data: Float64Array [26.43...] }
 * ```
 */
export function inferResult(
  model: Model,
  request: InferenceRequest,
  outputs: readonly OutputSpec[],
  prediction: Prediction,
): InferenceResult {
  if (prediction.rejects.length > 0) throw bad(`row ${prediction.rejects[0].index}: ${prediction.rejects[0].message}`);
  const tensors = outputs.map((o): Tensor => {
    const cols = o.columns.map((c) => prediction.columns[c]);
    const n = cols[0].length;
    return { name: o.name, datatype: DATATYPES[o.type], shape: responseShape(o, n), data: interleave(cols, n) };
  });
  const result: InferenceResult = { modelName: model.name, modelVersion: model.version, outputs: tensors };
  if (request.id !== undefined) result.id = request.id;
  return result;
}

/** Column `c` of row-major data with `k` values a row. */
function strided(data: TensorData, c: number, k: number, n: number): ArrayLike<unknown> {
  const out = Array.isArray(data) ? new Array<string>(n) : new (data.constructor as new (n: number) => TensorData)(n);
  const o = out as unknown as { [i: number]: unknown };
  const d = data as ArrayLike<unknown>;
  for (let r = 0; r < n; r++) o[r] = d[r * k + c];
  return out;
}

/** Output columns as one row-major array of their storage; one column is itself. */
function interleave(cols: ArrayLike<unknown>[], n: number): TensorData {
  if (cols.length === 1) return cols[0] as TensorData;
  const k = cols.length;
  const first = cols[0];
  const out = ArrayBuffer.isView(first)
    ? new (first.constructor as new (n: number) => TensorData)(n * k)
    : new Array<string>(n * k);
  const o = out as unknown as { [i: number]: unknown };
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) o[r * k + c] = cols[c][r];
  return out;
}

/** `[n]`, or `[n, ...]` with the dimensions of a row as the model returns them. */
function responseShape(o: OutputSpec, n: number): number[] {
  if (o.shape.length < 2) return [n];
  const row = o.shape.slice(1);
  const exact = row.every((d) => typeof d === "number" && d > 0) &&
    row.reduce<number>((p, d) => p * (d as number), 1) === o.columns.length;
  return exact ? [n, ...(row as number[])] : [n, o.columns.length];
}

function dims(shape: ReadonlyArray<number | string>): number[] {
  return shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
}

/** A 400 naming what is wrong with the request (INVALID_ARGUMENT over gRPC). */
export function bad(message: string): InputError {
  return new InputError(message, { status: 400, code: "bad_request" });
}
