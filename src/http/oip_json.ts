/**
 * The JSON codec of the Open Inference Protocol (KServe v2 REST): a parsed
 * body to a typed {@linkcode InferenceRequest}, checked against the model in
 * the order the fields are read, and a typed result back to JSON. JSON
 * keeps its rules: an integer beyond 2^53 is read and written exactly (a
 * bigint inside), a null in FP32/FP64 data is a missing value (NaN inside;
 * our extension to the protocol), and NaN or an infinity goes out as null.
 * FP32 data holding a number beyond float32's range is the one tensor not
 * in its datatype's storage: it stays float64, for the model to refuse its
 * row quoting the number sent.
 */
import { type InputSpec, INTEGER_RANGES, isIntegerType, STORAGE, type TensorType } from "../model/mod.ts";
import {
  bad,
  checkComplete,
  checkCount,
  checkInput,
  DATATYPES,
  type InferenceRequest,
  type InferenceResult,
  selectOutputs,
  type Tensor,
  TENSOR_TYPES,
  type TensorData,
} from "../serving/oip.ts";
import type { Model } from "../model/mod.ts";
import { isJsonObject, jsonValue } from "../value_codec.ts";

/**
 * Checks an infer request body against the model and returns it typed.
 *
 * @example
 * ```ts
 * const req = decodeInferRequest({ inputs: [{ name: "trip_distance", shape: [1], datatype: "FP64", data: [40] }, ...] }, model);
 * req.inputs[2].data; // Float64Array [40]
 * ```
 */
export function decodeInferRequest(body: unknown, model: Model): InferenceRequest {
  if (!isJsonObject(body)) throw bad('The request body must be a JSON object with "inputs"');
  if (body.id !== undefined && typeof body.id !== "string") throw bad(`"id" must be a string`);
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) {
    throw bad(`"inputs" must be a non-empty array of tensors`);
  }
  const inputs: Tensor[] = [];
  const given = new Set<string>();
  let length: number | undefined;
  for (const [k, raw] of body.inputs.entries()) {
    if (!isJsonObject(raw)) throw bad(`inputs[${k}] is not a tensor object`);
    const { name, data } = raw;
    if (typeof name !== "string") throw bad(`inputs[${k}] has no "name"`);
    const input = checkInput(model, { name, datatype: raw.datatype, shape: raw.shape }, given);
    const shape = raw.shape as number[];
    if (!Array.isArray(data)) throw bad(`Input "${name}" needs "data": a list of values`);
    const values = flatData(name, data, shape);
    checkCount(name, shape, input.columns.length, values.length, length);
    length = shape[0];
    inputs.push({ name, datatype: raw.datatype as string, shape, data: typedValues(name, input, values) });
  }
  checkComplete(model, given, length);
  const request: InferenceRequest = { inputs };
  if (body.id !== undefined) request.id = body.id as string;
  const outputs = requestedOutputs(body.outputs, model);
  if (outputs !== undefined) request.outputs = outputs;
  return request;
}

/**
 * The response document of a typed result.
 *
 * @example
 * ```ts
 * encodeInferResult(result); // { model_name: "m", model_version: "1", outputs: [{ name: "duration", datatype: "FP64", shape: [1], data: [26.43...] }] }
 * ```
 */
export function encodeInferResult(result: InferenceResult): Record<string, unknown> {
  const body: Record<string, unknown> = { model_name: result.modelName, model_version: result.modelVersion };
  if (result.id !== undefined) body.id = result.id;
  body.outputs = result.outputs.map((t) => ({
    name: t.name,
    datatype: t.datatype,
    shape: t.shape,
    data: jsonData(t.data, TENSOR_TYPES[t.datatype]),
  }));
  return body;
}

function jsonData(data: TensorData, type: TensorType): unknown[] {
  const out = new Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = jsonValue(data[i], type);
  return out;
}

/** The names of `"outputs"`, checked entry by entry as they are read. */
function requestedOutputs(raw: unknown, model: Model): { name: string }[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw bad(`"outputs" must be a list of {"name": ...}`);
  return raw.map((o, k) => {
    if (!isJsonObject(o) || typeof o.name !== "string") throw bad(`outputs[${k}] has no "name"`);
    selectOutputs([o.name], model);
    return { name: o.name };
  });
}

/**
 * JSON values in the storage of the input's type, each checked on the way in. An integer written beyond 2^53
 * is read exactly, as a bigint.
 */
function typedValues(name: string, input: InputSpec, values: unknown[]): TensorData {
  const type = input.type;
  const n = values.length;
  if (type === "string") {
    for (let i = 0; i < n; i++) if (typeof values[i] !== "string") throw badValue(name, type, i, values[i]);
    return values as string[];
  }
  if (type === "bool") {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v !== "boolean") throw badValue(name, type, i, v);
      out[i] = v ? 1 : 0;
    }
    return out;
  }
  if (isIntegerType(type)) {
    const [min, max] = INTEGER_RANGES[type];
    const out = new STORAGE[type](n);
    const big = type === "int64" || type === "uint64";
    for (let i = 0; i < n; i++) {
      const v = values[i];
      const ok = typeof v === "bigint"
        ? v >= min && v <= max
        : Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
      if (!ok) throw badValue(name, type, i, v);
      (out as { [i: number]: unknown })[i] = big ? BigInt(v as number | bigint) : Number(v);
    }
    return out;
  }
  let out: Float32Array | Float64Array = new STORAGE[type as "float32" | "float64"](n);
  let beyond = false;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v === "number") out[i] = v;
    else if (v === null) out[i] = NaN;
    else if (typeof v === "bigint") out[i] = Number(v);
    else throw badValue(name, type, i, v);
    beyond ||= out[i] === Infinity || out[i] === -Infinity;
  }
  // A number beyond float32's range (1e39) would read back as Infinity: kept as a double, so that the model's
  // reject of its row quotes it as it was sent.
  if (beyond && type === "float32") {
    out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = values[i] === null ? NaN : Number(values[i]);
  }
  return out;
}

/**
 * A tensor's data in row-major order: flat as sent, or nested exactly as its shape says (a ragged nesting whose count
 * happens to fit would be read into the wrong rows). Lists nested deeper than the shape are left for the value check,
 * which refuses them as values, without recursing into them.
 */
function flatData(name: string, data: unknown[], shape: number[]): unknown[] {
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (v: unknown, depth: number, at: string) => {
    if (depth === shape.length) {
      out.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      const got = Array.isArray(v) ? `a list of ${v.length}` : "a single value";
      throw bad(
        `Input "${name}" data${at} is ${got}, where its shape [${shape.join(", ")}] needs a list of ${shape[depth]}`,
      );
    }
    for (let i = 0; i < v.length; i++) walk(v[i], depth + 1, `${at}[${i}]`);
  };
  walk(data, 0, "");
  return out;
}

function badValue(name: string, type: TensorType, i: number, v: unknown) {
  return bad(`Input "${name}" element ${i} is ${describe(v)}, not a valid ${DATATYPES[type]} value`);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return "a list (nested deeper than the shape)";
  if (typeof v === "object" && v !== null) return "an object";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  return String(v);
}
