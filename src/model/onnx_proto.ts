/**
 * The one door to the ONNX protobuf library: decoding a `.onnx` file into a
 * message tree and encoding it back, through `onnx-proto` (protobufjs code
 * generated from onnx.proto), for rewriting a graph (`zipmap.ts`). Nothing
 * else imports `onnx-proto`, so the library's shapes (int64 as `Long`,
 * `null` vs. absent) stay in this file. Reading a graph without rewriting it
 * goes through `onnx_reader.ts`, which loads no library.
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
