/**
 * The tensor element types the model module feeds and reads, written once:
 * every other list of them (ONNX metadata checks, coercion, the Open
 * Inference Protocol's datatypes, Postgres and Parquet column types) is a
 * record keyed by {@linkcode TensorType}, so the compiler names any type one
 * of them forgets.
 *
 * @example
 * ```ts
 * isTensorType("float64"); // true
 * INTEGER_RANGES.int8; // [-128n, 127n]
 * ```
 */

/** The integer element types, each with its range in {@linkcode INTEGER_RANGES}. */
export type IntegerType = "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64";

/** The ONNX tensor element types we feed. */
export type TensorType = "float32" | "float64" | IntegerType | "bool" | "string";

/** Words used in messages: `column "x" is not <expected>`. */
export const EXPECTED: Readonly<Record<TensorType, string>> = {
  float32: "a number",
  float64: "a number",
  int8: "an integer",
  int16: "an integer",
  int32: "an integer",
  int64: "an integer",
  uint8: "an integer",
  uint16: "an integer",
  uint32: "an integer",
  uint64: "an integer",
  bool: "a boolean",
  string: "a string",
};

/** The smallest and largest value of each integer type, exact (as bigints). */
export const INTEGER_RANGES: Readonly<Record<IntegerType, readonly [min: bigint, max: bigint]>> = {
  int8: [-128n, 127n],
  int16: [-32768n, 32767n],
  int32: [-2147483648n, 2147483647n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint8: [0n, 255n],
  uint16: [0n, 65535n],
  uint32: [0n, 4294967295n],
  uint64: [0n, 2n ** 64n - 1n],
};

/**
 * The typed array that holds each non-string type's values (a bool is one byte, as onnxruntime takes it); each
 * entry keeps its own constructor's type, so `new STORAGE[type](n)` is the exact array for a narrowed `type`.
 */
export const STORAGE = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
} as const satisfies Readonly<
  Record<Exclude<TensorType, "string">, new (length: number) => ArrayBufferView & ArrayLike<number | bigint>>
>;

/** Whether a type name (e.g. from ONNX metadata) is one we feed. */
export function isTensorType(name: string): name is TensorType {
  return Object.hasOwn(EXPECTED, name);
}

/** Whether a tensor type is an integer type. */
export function isIntegerType(type: TensorType): type is IntegerType {
  return Object.hasOwn(INTEGER_RANGES, type);
}
