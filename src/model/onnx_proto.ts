/**
 * The one door to the ONNX protobuf: decoding a `.onnx` file into a
 * message tree and encoding it back, through `onnx-proto` (protobufjs code
 * generated from onnx.proto). Nothing else imports `onnx-proto`, so the
 * library's shapes (int64 as `Long`, `null` vs. absent) stay in this file.
 *
 * @example
 * ```ts
 * const model = decodeModel(await Deno.readFile("model.onnx"));
 * model.graph?.node?.map((n) => n.opType); // ["Sub", "Concat", "ZipMap", ...]
 * const bytes = encodeModel(model);
 * ```
 */
import proto from "onnx-proto";

const { onnx } = proto;

/** A decoded ONNX model. */
export type ModelProto = proto.onnx.IModelProto;
/** A graph (the model's, or a node's subgraph). */
export type GraphProto = proto.onnx.IGraphProto;
/** One node of a graph. */
export type NodeProto = proto.onnx.INodeProto;
/** A graph input or output (name and type). */
export type ValueInfoProto = proto.onnx.IValueInfoProto;

/** `TensorProto.DataType.FLOAT`. */
export const FLOAT = onnx.TensorProto.DataType.FLOAT;

/**
 * Decodes a `.onnx` file; throws on bytes that are not a ModelProto.
 *
 * @example
 * ```ts
 * decodeModel(bytes).graph?.output?.map((o) => o.name);
 * ```
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/**
 * Encodes a model back into `.onnx` bytes (every field onnx.proto 1.10 knows survives a decode and encode).
 *
 * @example
 * ```ts
 * const again = decodeModel(encodeModel(decodeModel(bytes)));
 * ```
 */
export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

/**
 * A node's attribute as plain values: strings for `strings`, decimal text
 * for `ints` (int64 kept exact), or undefined when the node lacks it.
 *
 * @example
 * ```ts
 * attributeList(zipMap, "classlabels_int64s"); // ["0", "1", "2"]
 * ```
 */
export function attributeList(node: NodeProto, name: string): string[] | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  if (a === undefined) return undefined;
  if (a.strings && a.strings.length > 0) return a.strings.map((s) => new TextDecoder().decode(s));
  if (a.ints && a.ints.length > 0) return a.ints.map((i) => i.toString());
  return [];
}

/**
 * A graph value of type float tensor `[batch, width]`, the batch dimension
 * symbolic (named `batch`, or left unknown when `batch` is empty).
 *
 * @example
 * ```ts
 * floatMatrix("output_probability", "N", 3);
 * ```
 */
export function floatMatrix(name: string, batch: string, width: number): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: [batch === "" ? {} : { dimParam: batch }, { dimValue: width }] },
      },
    },
  };
}

/**
 * The symbolic name of a value's first dimension ("" when it has none).
 *
 * @example
 * ```ts
 * batchDimName(graph.input[0]); // "N"
 * ```
 */
export function batchDimName(value: ValueInfoProto | undefined): string {
  return value?.type?.tensorType?.shape?.dim?.[0]?.dimParam ?? "";
}

/** A tensor stored in the graph (an initializer, or a Constant node's value). */
export type TensorProto = proto.onnx.ITensorProto;

/** `TensorProto.DataType.STRING`. */
export const STRING = onnx.TensorProto.DataType.STRING;
/** `TensorProto.DataType.INT64`. */
export const INT64 = onnx.TensorProto.DataType.INT64;

/**
 * An int64 or int32 tensor's values as decimal text (int64 kept exact, from
 * `int64_data`, `int32_data` or little-endian `raw_data`), or undefined for
 * any other type.
 *
 * @example
 * ```ts
 * intValues(graph.initializer.find((t) => t.name === "target_index")); // ["2"]
 * ```
 */
export function intValues(tensor: TensorProto | undefined): string[] | undefined {
  if (tensor === undefined) return undefined;
  const type = tensor.dataType;
  if (type !== INT64 && type !== onnx.TensorProto.DataType.INT32) return undefined;
  if (tensor.rawData && tensor.rawData.length > 0) {
    const raw = tensor.rawData;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = type === INT64 ? 8 : 4;
    return Array.from(
      { length: Math.floor(raw.byteLength / size) },
      (_, i) => String(size === 8 ? view.getBigInt64(i * 8, true) : view.getInt32(i * 4, true)),
    );
  }
  const values = type === INT64 ? tensor.int64Data : tensor.int32Data;
  return (values ?? []).map((v) => v.toString());
}

/**
 * The element type of a graph input or output's tensor (a `TensorProto.DataType`), or undefined for a
 * sequence or map.
 *
 * @example
 * ```ts
 * elemType(graph.input[0]) === STRING;
 * ```
 */
export function elemType(value: ValueInfoProto | undefined): number | undefined {
  return value?.type?.tensorType?.elemType ?? undefined;
}

/**
 * The dimensions of a graph value's tensor: a number for a fixed one, undefined for a dynamic one; undefined
 * altogether when the shape is not given.
 *
 * @example
 * ```ts
 * tensorDims(graph.input[0]); // [undefined, 1]
 * ```
 */
export function tensorDims(value: ValueInfoProto | undefined): (number | undefined)[] | undefined {
  const dims = value?.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) => {
    const n = d.dimValue == null ? NaN : Number(d.dimValue);
    return n > 0 ? n : undefined;
  });
}
