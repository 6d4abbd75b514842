/**
 * The Open Inference Protocol v2 (KServe v2 REST) documents: model
 * metadata, and the `infer` request and response with typed, shaped
 * tensors. Requests are checked strictly, as Triton and MLServer do: every
 * model input once, the datatype the metadata declares, data (flat or
 * nested) matching the shape. Each failure is a 400 naming the input.
 */
import { InputError } from "../errors.ts";
import {
  INTEGER_RANGES,
  isIntegerType,
  type Model,
  type OutputSpec,
  type Prediction,
  type TensorType,
} from "../model/mod.ts";
import { isJsonObject, jsonValue } from "../value_codec.ts";

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

/** A tensor's metadata as OIP lists it. */
export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
  /** Our addition for a ZipMap classifier's probabilities: the class label of each column. */
  parameters?: { labels: string[] };
}

/**
 * The model metadata response (`GET /v2/models/{name}`): dynamic dimensions
 * are `-1`, and so is the batch dimension of a model that fixes it (any
 * number of rows is accepted and run in runs of its size). An `[N,K]` input
 * is `[-1, K]`; a ZipMap classifier's probabilities are FP32 `[-1, C]` with
 * the class labels in `parameters.labels`.
 *
 * @example
 * ```ts
 * modelMetadata(model).inputs[0]; // { name: "PULocationID", datatype: "INT64", shape: [-1] }
 * ```
 */
export function modelMetadata(model: Model) {
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

/** A checked infer request. */
export interface InferRequest {
  id?: string;
  /** Columns keyed by model input name (an `[N,K]` input's K columns by its `columns`). */
  columns: Record<string, unknown[]>;
  /** Rows (the first dimension, shared by every input). */
  length: number;
  /** Outputs to answer, in the order asked; all when the request names none. */
  outputs: readonly OutputSpec[];
}

/**
 * Checks an infer request body against the model.
 *
 * @example
 * ```ts
 * const req = parseInferRequest({ inputs: [{ name: "trip_distance", shape: [1], datatype: "FP64", data: [40] }, ...] }, model);
 * ```
 */
export function parseInferRequest(body: unknown, model: Model): InferRequest {
  if (!isJsonObject(body)) throw bad('The request body must be a JSON object with "inputs"');
  if (body.id !== undefined && typeof body.id !== "string") throw bad(`"id" must be a string`);
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) {
    throw bad(`"inputs" must be a non-empty array of tensors`);
  }
  const columns: Record<string, unknown[]> = {};
  const given = new Set<string>();
  let length: number | undefined;
  for (const [k, raw] of body.inputs.entries()) {
    if (!isJsonObject(raw)) throw bad(`inputs[${k}] is not a tensor object`);
    const { name, shape, datatype, data } = raw;
    if (typeof name !== "string") throw bad(`inputs[${k}] has no "name"`);
    const input = model.inputs.find((i) => i.name === name) ?? model.inputs.find((i) => i.aliases.includes(name));
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
    if (!Array.isArray(data)) throw bad(`Input "${name}" needs "data": a list of values`);
    // Nested data may nest only as deep as the shape: deeper lists are bad values, not recursion.
    const values = data.flat(shape.length - 1);
    if (values.length !== shape[0] * width) {
      throw bad(`Input "${name}" has ${values.length} values but its shape [${shape}] needs ${shape[0] * width}`);
    }
    if (length !== undefined && shape[0] !== length) {
      throw bad(`Input "${name}" has ${shape[0]} rows but another input has ${length}`);
    }
    length = shape[0];
    checkValues(name, input.type, values);
    if (width === 1) columns[input.columns[0]] = values;
    else {
      for (let c = 0; c < width; c++) {
        columns[input.columns[c]] = Array.from({ length: shape[0] }, (_, r) => values[r * width + c]);
      }
    }
  }
  const missing = model.inputs.filter((i) => !given.has(i.name)).map((i) => `"${i.name}"`);
  if (missing.length > 0) {
    throw bad(`Missing ${missing.length === 1 ? "input" : "inputs"} for model "${model.name}": ${missing.join(", ")}`);
  }
  if (length === 0) throw bad("The request has no rows to score (shape [0])");
  return { id: body.id as string | undefined, columns, length: length!, outputs: selectOutputs(body.outputs, model) };
}

/**
 * The infer response for a prediction of the request's rows.
 *
 * @example
 * ```ts
 * inferResponse(model, req, prediction).outputs[0]; // { name: "duration", datatype: "FP64", shape: [1], data: [26.43...] }
 * ```
 */
export function inferResponse(model: Model, req: InferRequest, prediction: Prediction) {
  if (prediction.rejects.length > 0) throw bad(`row ${prediction.rejects[0].index}: ${prediction.rejects[0].message}`);
  const outputs = req.outputs.map((o) => {
    const k = o.columns.length;
    const cols = o.columns.map((c) => prediction.columns[c]);
    const n = cols[0].length;
    const data = new Array(n * k);
    for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) data[r * k + c] = jsonValue(cols[c][r], o.type);
    return { name: o.name, datatype: DATATYPES[o.type], shape: responseShape(o, n), data };
  });
  const body: Record<string, unknown> = { model_name: model.name, model_version: model.version };
  if (req.id !== undefined) body.id = req.id;
  body.outputs = outputs;
  return body;
}

function selectOutputs(raw: unknown, model: Model): readonly OutputSpec[] {
  if (raw === undefined) return model.outputs;
  if (!Array.isArray(raw)) throw bad(`"outputs" must be a list of {"name": ...}`);
  const chosen: OutputSpec[] = [];
  for (const [k, o] of raw.entries()) {
    if (!isJsonObject(o) || typeof o.name !== "string") throw bad(`outputs[${k}] has no "name"`);
    const spec = model.outputs.find((x) => x.name === o.name || x.columns.includes(o.name as string));
    if (spec === undefined) {
      throw bad(
        `Unknown output "${o.name}" for model "${model.name}" (outputs: ${
          model.outputs.map((x) => x.name).join(", ")
        })`,
      );
    }
    if (!chosen.includes(spec)) chosen.push(spec);
  }
  return chosen.length === 0 ? model.outputs : chosen;
}

/** `[n]`, or `[n, ...]` with the dimensions of a row as the model returns them. */
function responseShape(o: OutputSpec, n: number): number[] {
  if (o.shape.length < 2) return [n];
  const row = o.shape.slice(1);
  const exact = row.every((d) => typeof d === "number" && d > 0) &&
    row.reduce<number>((p, d) => p * (d as number), 1) === o.columns.length;
  return exact ? [n, ...(row as number[])] : [n, o.columns.length];
}

/**
 * Checks each value against the datatype. A null is accepted in FP32 and FP64 data (our extension to the
 * protocol, which has no missing value): the model makes it NaN, or rejects the row for a required input.
 */
function checkValues(name: string, type: TensorType, values: unknown[]) {
  for (let i = 0; i < values.length; i++) {
    if (!isValid(values[i], type)) {
      throw bad(`Input "${name}" element ${i} is ${describe(values[i])}, not a valid ${DATATYPES[type]} value`);
    }
  }
}

/**
 * A JSON value of a tensor of this type; an integer written beyond 2^53 is read exactly, as a bigint. A null is
 * accepted in FP32 and FP64 data (our extension to the protocol, which has no missing value): the model makes it
 * NaN, or rejects the row for a required input.
 */
function isValid(v: unknown, type: TensorType): boolean {
  if (type === "bool") return typeof v === "boolean";
  if (type === "string") return typeof v === "string";
  if (isIntegerType(type)) {
    const [min, max] = INTEGER_RANGES[type];
    if (typeof v === "bigint") return v >= min && v <= max;
    return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
  }
  return typeof v === "number" || typeof v === "bigint" || v === null;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list (nested deeper than the shape)";
  if (typeof v === "object" && v !== null) return "an object";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  return String(v);
}

function dims(shape: ReadonlyArray<number | string>): number[] {
  return shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
}

function bad(message: string): InputError {
  return new InputError(message, { status: 400, code: "bad_request" });
}
