/**
 * Coercion of one column of loosely typed values (CSV strings, JSON values,
 * Parquet/Postgres natives) into the typed array an ONNX input wants.
 *
 * A value that cannot be coerced does not fail the column: it is reported
 * as a {@linkcode CoercionFailure} so the caller can reject that row alone.
 */
import { int64Words, setSafeInteger } from "../int64_words.ts";
import { INTEGER_RANGES, STORAGE, type TensorType } from "./tensor_types.ts";

export { EXPECTED, type TensorType } from "./tensor_types.ts";

/** The typed storage of a coerced column. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | string[];

/** One value that could not be coerced. */
export interface CoercionFailure {
  /** Index of the row within the column. */
  index: number;
  /** Why, e.g. `is not a number`. */
  reason: string;
  value: unknown;
}

/** What coercing a column gives: the data (bad slots zeroed) and the failures. */
export interface Coerced {
  data: TensorData;
  failures: CoercionFailure[];
}

const INTEGER_TEXT = /^\s*[+-]?\d+(\.0*)?\s*$/;
const TRUE_WORDS = new Set(["true", "t", "yes", "y", "1"]);
const FALSE_WORDS = new Set(["false", "f", "no", "n", "0"]);

/**
 * Coerces `values` to `type`. Floats: finite numbers, decimal text and
 * bigints (infinities, hex and words fail); a blank, null or NaN becomes
 * NaN, or is a failure when `required`. Integers: whole numbers, whole numeric
 * strings and bigints, within the type's range; null is a failure. Bools:
 * true/false, 1/0 and the words true/false, yes/no, t/f. Strings: strings,
 * and numbers/bigints/bools printed; null is a failure.
 *
 * @example
 * ```ts
 * const { data, failures } = coerceColumn(["1.5", "", "x"], "float64");
 * // data: Float64Array [1.5, NaN, 0]; failures: [{ index: 2, reason: "is not a number", value: "x" }]
 * ```
 */
export function coerceColumn(
  values: ArrayLike<unknown>,
  type: TensorType,
  options: { required?: boolean } = {},
): Coerced {
  if (type === "string") return toStrings(values);
  if (type === "bool") return toBools(values, new STORAGE[type](values.length));
  if (type === "float64" || type === "float32") {
    return toFloats(values, new STORAGE[type](values.length), options.required ?? false);
  }
  if (type === "int64" || type === "uint64") return toBigInts(values, new STORAGE[type](values.length), type);
  return toInts(values, new STORAGE[type](values.length), type);
}

/** Decimal notation only: no hex, no "Infinity", no stray words that `Number()` would accept. */
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function toFloats(values: ArrayLike<unknown>, out: Float64Array | Float32Array, required: boolean): Coerced {
  const failures: CoercionFailure[] = [];
  // Typed arrays hold numbers already: only NaN (missing) and infinities need a look.
  if (values instanceof Float64Array || values instanceof Float32Array || values instanceof Int32Array) {
    out.set(values);
    for (let i = 0; i < out.length; i++) {
      const n = out[i];
      if (Number.isFinite(n)) continue;
      if (!Number.isNaN(n)) failures.push({ index: i, reason: "is not a finite number", value: values[i] });
      else if (required) failures.push({ index: i, reason: "is missing", value: values[i] });
    }
    return { data: out, failures };
  }
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let n: number;
    if (typeof v === "number") n = v;
    else if (v === null || v === undefined) n = NaN;
    else if (typeof v === "string") {
      const s = v.trim();
      if (s === "" || s === "NaN" || s === "nan") n = NaN;
      else if (DECIMAL_TEXT.test(s)) n = Number(s);
      else {
        failures.push({ index: i, reason: "is not a number", value: v });
        continue;
      }
    } else if (typeof v === "bigint") n = Number(v);
    else {
      failures.push({ index: i, reason: "is not a number", value: v });
      continue;
    }
    if (Number.isNaN(n) ? required : !Number.isFinite(n)) {
      failures.push({ index: i, reason: Number.isNaN(n) ? "is missing" : "is not a finite number", value: v });
      continue;
    }
    out[i] = n;
    // A finite double may not be a finite float32 (1e39): the same failure as a column of typed numbers gets.
    if (!Number.isNaN(n) && !Number.isFinite(out[i])) {
      failures.push({ index: i, reason: "is not a finite number", value: v });
    }
  }
  return { data: out, failures };
}

function toBigInts(values: ArrayLike<unknown>, out: BigInt64Array | BigUint64Array, type: "int64" | "uint64"): Coerced {
  const failures: CoercionFailure[] = [];
  // A column read as int64 already (Parquet, a CSV column of plain integers): every value fits as it is.
  if (type === "int64" && values instanceof BigInt64Array) {
    out.set(values);
    return { data: out, failures };
  }
  const [min, max] = INTEGER_RANGES[type];
  const words = int64Words(out);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let n: bigint | undefined;
    let reason = "is not an integer";
    if (typeof v === "bigint") n = v;
    else if (typeof v === "number") {
      // In range whatever its sign for int64, when not negative for uint64: written with no BigInt made.
      if (Number.isSafeInteger(v) && (v >= 0 || type === "int64")) {
        setSafeInteger(words, i, v);
        continue;
      }
      if (Number.isSafeInteger(v)) n = BigInt(v);
      else if (Number.isNaN(v)) reason = "is missing";
    } else if (typeof v === "string") {
      if (INTEGER_TEXT.test(v)) {
        // BigInt(number) is several times faster than BigInt(text); exact below 2^53.
        const x = Number(v);
        n = Number.isSafeInteger(x) ? BigInt(x) : BigInt(v.trim().replace(/\.0*$/, ""));
      } else if (v.trim() === "") reason = "is missing";
    } else if (v === null || v === undefined) reason = "is missing";
    if (n === undefined || n < min || n > max) {
      if (n !== undefined) reason = `is out of range for ${type}`;
      failures.push({ index: i, reason, value: v });
    } else out[i] = n;
  }
  return { data: out, failures };
}

function toInts(
  values: ArrayLike<unknown>,
  out: Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array,
  type: "int32" | "int16" | "int8" | "uint32" | "uint16" | "uint8",
): Coerced {
  const min = Number(INTEGER_RANGES[type][0]);
  const max = Number(INTEGER_RANGES[type][1]);
  const failures: CoercionFailure[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let n = NaN;
    let reason = "is not an integer";
    if (typeof v === "number") n = v;
    else if (typeof v === "bigint") n = Number(v);
    else if (typeof v === "string") {
      if (INTEGER_TEXT.test(v)) n = Number(v);
      else if (v.trim() === "") reason = "is missing";
    } else if (v === null || v === undefined) reason = "is missing";
    if (!Number.isInteger(n)) failures.push({ index: i, reason, value: v });
    else if (n < min || n > max) failures.push({ index: i, reason: `is out of range for ${type}`, value: v });
    else out[i] = n;
  }
  return { data: out, failures };
}

function toBools(values: ArrayLike<unknown>, out: Uint8Array): Coerced {
  const failures: CoercionFailure[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === true || v === 1 || v === 1n) out[i] = 1;
    else if (v === false || v === 0 || v === 0n) out[i] = 0;
    else if (typeof v === "string" && TRUE_WORDS.has(v.trim().toLowerCase())) out[i] = 1;
    else if (typeof v === "string" && FALSE_WORDS.has(v.trim().toLowerCase())) out[i] = 0;
    else {
      const reason = v === null || v === undefined ? "is missing" : "is not a boolean";
      failures.push({ index: i, reason, value: v });
    }
  }
  return { data: out, failures };
}

const NOT_TEXT_REASON = "holds a NUL character or a lone surrogate (a string tensor takes text without either)";

function toStrings(values: ArrayLike<unknown>): Coerced {
  const out = new Array<string>(values.length);
  const failures: CoercionFailure[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === "string") {
      out[i] = v;
      // onnxruntime takes a string tensor's values as C strings: text after a NUL would be dropped, and a lone
      // surrogate (valid in JSON, not in UTF-8) replaced. The model would see what was not sent.
      if (v.includes("\0") || !v.isWellFormed()) {
        out[i] = "";
        failures.push({ index: i, reason: NOT_TEXT_REASON, value: v });
      }
    } else if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") {
      out[i] = String(v);
    } else {
      out[i] = "";
      const reason = v === null || v === undefined ? "is missing" : "is not a string";
      failures.push({ index: i, reason, value: v });
    }
  }
  return { data: out, failures };
}
