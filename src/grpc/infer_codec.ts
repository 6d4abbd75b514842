/**
 * The protobuf codec of `ModelInfer`: a decoded `ModelInferRequest` message
 * to a typed {@linkcode InferenceRequest}, checked against the model with
 * the same words REST uses, and a typed result back to a
 * `ModelInferResponse`, as MLServer's `grpc/converters.py` does. Tensor
 * values come typed (`contents`, the field of the tensor's datatype) or raw
 * (`raw_input_contents`: little-endian, row-major; BYTES as 4-byte
 * little-endian lengths, each followed by its bytes, as Triton's clients
 * send). A result goes out raw when the request came raw. int64 and uint64
 * are exact (bigints inside); NaN and infinities go through as they are.
 */
import { strictUtf8 } from "../strict_utf8.ts";
import { Buffer } from "node:buffer";
import { INTEGER_RANGES, isIntegerType, type Model, STORAGE, type TensorType } from "../model/mod.ts";
import {
  bad,
  checkCount,
  checkInput,
  DATATYPES,
  type InferenceRequest,
  type InferenceResult,
  type Parameters,
  type Tensor,
  TENSOR_TYPES,
  type TensorData,
} from "../serving/oip.ts";

/** An `InferParameter` as the adapter decodes it: the oneof's choice names the field set. */
export interface ParameterMessage {
  parameter_choice?: string;
  bool_param?: boolean;
  int64_param?: string;
  string_param?: string;
  double_param?: number;
  uint64_param?: string;
}

/** `InferTensorContents` as decoded: int64s as decimal text, bytes as Buffers. */
export interface ContentsMessage {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: string[];
  uint_contents?: number[];
  uint64_contents?: string[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

/** A decoded `ModelInferRequest` (absent fields are undefined). */
export interface InferRequestMessage {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, ParameterMessage>;
  inputs?: {
    name?: string;
    datatype?: string;
    shape?: string[];
    parameters?: Record<string, ParameterMessage>;
    contents?: ContentsMessage;
  }[];
  outputs?: { name?: string; parameters?: Record<string, ParameterMessage> }[];
  raw_input_contents?: Uint8Array[];
}

/**
 * The `InferTensorContents` field that holds each tensor type's values.
 *
 * @example
 * ```ts
 * CONTENTS_FIELD.float32; // "fp32_contents"
 * ```
 */
export const CONTENTS_FIELD: Readonly<Record<TensorType, keyof ContentsMessage>> = {
  bool: "bool_contents",
  int8: "int_contents",
  int16: "int_contents",
  int32: "int_contents",
  int64: "int64_contents",
  uint8: "uint_contents",
  uint16: "uint_contents",
  uint32: "uint_contents",
  uint64: "uint64_contents",
  float32: "fp32_contents",
  float64: "fp64_contents",
  string: "bytes_contents",
};

// Raw contents are little-endian: typed arrays read them as they are only on a little-endian machine.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error("score's gRPC codec needs a little-endian CPU");
}

const UTF8 = strictUtf8();

/** Whether a request sent its tensors raw (then the result goes back raw). */
export function isRaw(msg: InferRequestMessage): boolean {
  return (msg.raw_input_contents?.length ?? 0) > 0;
}

/**
 * Checks a `ModelInferRequest` against the model and returns it typed.
 *
 * @example
 * ```ts
 * const request = decodeInferRequest(message, plane.served(message.model_name).model);
 * ```
 */
export function decodeInferRequest(msg: InferRequestMessage, model: Model): InferenceRequest {
  const tensors = msg.inputs ?? [];
  const raw = msg.raw_input_contents ?? [];
  if (raw.length > 0 && raw.length !== tensors.length) {
    throw bad(
      `raw_input_contents has ${raw.length} entries for ${tensors.length} inputs: give one per input, in order`,
    );
  }
  const inputs: Tensor[] = [];
  const given = new Set<string>();
  let length: number | undefined;
  for (const [k, t] of tensors.entries()) {
    const name = t.name ?? "";
    const shape = (t.shape ?? []).map(Number);
    const input = checkInput(model, { name, datatype: t.datatype ?? "", shape }, given);
    if (raw.length > 0 && hasContents(t.contents)) {
      throw bad(`Input "${name}" has contents while raw_input_contents is given: send one or the other`);
    }
    const data = raw.length > 0 ? fromRaw(name, input.type, raw[k]) : fromContents(name, input.type, t.contents);
    checkCount(name, shape, input.columns.length, data.length, length);
    length = shape[0];
    const tensor: Tensor = { name, datatype: DATATYPES[input.type], shape, data };
    if (t.parameters !== undefined) tensor.parameters = parameters(t.parameters);
    inputs.push(tensor);
  }
  const request: InferenceRequest = { inputs };
  if (msg.id) request.id = msg.id;
  if (msg.parameters !== undefined) request.parameters = parameters(msg.parameters);
  if (msg.outputs !== undefined && msg.outputs.length > 0) {
    request.outputs = msg.outputs.map((o) => ({ name: o.name ?? "" }));
  }
  return request;
}

/**
 * The `ModelInferResponse` of a typed result: tensors in `contents`, or in
 * `raw_output_contents` when `raw`.
 *
 * @example
 * ```ts
 * encodeInferResponse(result, isRaw(message));
 * ```
 */
export function encodeInferResponse(result: InferenceResult, raw: boolean): Record<string, unknown> {
  const outputs = result.outputs.map((t) => {
    const type = TENSOR_TYPES[t.datatype];
    const out: Record<string, unknown> = { name: t.name, datatype: t.datatype, shape: t.shape };
    if (!raw) out.contents = { [CONTENTS_FIELD[type]]: contentsOf(t.data, type) };
    return out;
  });
  const body: Record<string, unknown> = {
    model_name: result.modelName,
    model_version: result.modelVersion,
    id: result.id ?? "",
    outputs,
  };
  if (raw) body.raw_output_contents = result.outputs.map((t) => rawOf(t.data, TENSOR_TYPES[t.datatype]));
  return body;
}

function hasContents(c: ContentsMessage | undefined): boolean {
  return c !== undefined && Object.values(c).some((v) => Array.isArray(v) && v.length > 0);
}

function fromContents(name: string, type: TensorType, contents: ContentsMessage | undefined): TensorData {
  const field = CONTENTS_FIELD[type];
  const values = (contents?.[field] ?? []) as unknown[];
  if (values.length === 0 && hasContents(contents)) {
    throw bad(`Input "${name}" is ${DATATYPES[type]}: its values go in contents.${field}`);
  }
  const n = values.length;
  if (type === "string") {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = text(name, i, values[i] as Uint8Array);
    return out;
  }
  if (type === "int64" || type === "uint64") {
    const out = new STORAGE[type](n);
    for (let i = 0; i < n; i++) out[i] = BigInt(values[i] as string);
    return out;
  }
  if (type === "bool") return Uint8Array.from(values as boolean[], (v) => v ? 1 : 0);
  if (isIntegerType(type)) {
    // int_contents and uint_contents are 32-bit: an INT8 or UINT16 value may be out of its type's range.
    const [min, max] = INTEGER_RANGES[type];
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      if (v < min || v > max) throw bad(`Input "${name}" element ${i} is ${v}, not a valid ${DATATYPES[type]} value`);
    }
  }
  return (STORAGE[type] as unknown as { from(v: ArrayLike<unknown>): TensorData }).from(values);
}

function fromRaw(name: string, type: TensorType, bytes: Uint8Array): TensorData {
  if (type === "string") {
    const out: string[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at < bytes.length;) {
      const size = at + 4 <= bytes.length ? view.getUint32(at, true) : -1;
      if (size < 0 || at + 4 + size > bytes.length) {
        throw bad(
          `Input "${name}" raw contents end inside element ${out.length} (BYTES: 4-byte length, then the bytes)`,
        );
      }
      out.push(text(name, out.length, bytes.subarray(at + 4, at + 4 + size)));
      at += 4 + size;
    }
    return out;
  }
  const storage = STORAGE[type];
  const size = storage.BYTES_PER_ELEMENT;
  if (bytes.length % size !== 0) {
    throw bad(
      `Input "${name}" has ${bytes.length} bytes of raw contents, not a whole number of ${
        DATATYPES[type]
      } values (${size} bytes each)`,
    );
  }
  // A copy: the message's bytes may sit at any offset of a larger buffer, and typed arrays need alignment.
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (type === "bool") {
    for (let i = 0; i < copy.length; i++) copy[i] = copy[i] === 0 ? 0 : 1;
    return copy;
  }
  return new storage(copy.buffer as ArrayBuffer) as TensorData;
}

function text(name: string, i: number, bytes: Uint8Array): string {
  try {
    return UTF8(bytes);
  } catch {
    throw bad(`Input "${name}" element ${i} is not valid UTF-8 text`);
  }
}

function contentsOf(data: TensorData, type: TensorType): unknown[] {
  if (type === "string") return (data as string[]).map((s) => Buffer.from(s, "utf8"));
  if (type === "bool") return Array.from(data as Uint8Array, (v) => v !== 0);
  if (type === "int64" || type === "uint64") return Array.from(data as BigInt64Array, String);
  return Array.from(data as Float64Array);
}

function rawOf(data: TensorData, type: TensorType): Uint8Array {
  if (type === "string") {
    const parts = (data as string[]).map((s) => Buffer.from(s, "utf8"));
    const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, at);
      out.set(p, at + 4);
      at += 4 + p.length;
    }
    return out;
  }
  const typed = data as Exclude<TensorData, string[]>;
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** The parameters map, each value as its choice holds it (int64 and uint64 exact: a bigint beyond 2^53). */
function parameters(map: Record<string, ParameterMessage>): Parameters {
  const out: Parameters = {};
  for (const [key, p] of Object.entries(map)) {
    const choice = p.parameter_choice as keyof ParameterMessage | undefined;
    if (choice === undefined || choice === "parameter_choice") continue;
    const v = p[choice]!;
    if (choice === "int64_param" || choice === "uint64_param") {
      const n = Number(v);
      out[key] = Number.isSafeInteger(n) ? n : BigInt(v as string);
    } else out[key] = v;
  }
  return out;
}
