/**
 * A CSV column the model reads as numbers, read from its bytes: a plain
 * number comes as the number, the rest as its text for the model's
 * coercion to judge, so what is accepted, and why, does not depend on the
 * reader. Done in JavaScript, in the reader worker, on the bytes the CSV
 * reader gives (`csv_byte_batches.ts`): no string is made for a number.
 *
 * Plain, for a decimal type: optional sign, digits with an optional point,
 * an optional exponent, nothing else but blanks around (as the coercion's
 * decimal text), and finite. For an integer type: the integer as it prints (`-12`, not `+12`,
 * `012` or `-0`), in the type's range.
 */
import { int64Words, setSafeInteger } from "../int64_words.ts";
import type { TextBytes } from "../text_bytes.ts";
import type { NumberType } from "./source.ts";

/**
 * The texts' numbers: a typed array (Float64Array for float64 and float32, Int32Array, BigInt64Array) when every
 * one is plain, else an array of the plain ones' numbers and the others' texts (a null is the empty text).
 *
 * @example
 * ```ts
 * plainNumbers(textBytesOf(["1.5", "2"]), "float64"); // Float64Array [1.5, 2]
 * plainNumbers(textBytesOf(["1.5", "x"]), "float64"); // [1.5, "x"]
 * ```
 */
export function plainNumbers(column: TextBytes, type: NumberType): ArrayLike<unknown> {
  const { length, bytes, ends, nulls } = column;
  const parse = type === "int32" ? int32 : type === "int64" ? int64 : decimal;
  const out = type === "int32"
    ? new Int32Array(length)
    : type === "int64"
    ? new BigInt64Array(length)
    : new Float64Array(length);
  // An int64 of up to 15 digits comes as a number and is written as the array's two words: no BigInt made.
  const words = out instanceof BigInt64Array ? int64Words(out) : undefined;
  let mixed: unknown[] | undefined;
  let start = 0;
  for (let i = 0; i < length; i++) {
    const end = ends[i];
    const value = nulls !== undefined && nulls[i] === 1 ? NOT_PLAIN : parse(bytes, start, end);
    if (value === NOT_PLAIN) {
      mixed ??= Array.from(out.subarray(0, i) as ArrayLike<unknown>);
      mixed.push(UTF8.decode(bytes.subarray(start, end)));
    } else if (mixed !== undefined) {
      mixed.push(words !== undefined && typeof value === "number" ? BigInt(value) : value);
    } else if (words !== undefined && typeof value === "number") {
      setSafeInteger(words, i, value);
    } else {
      out[i] = value as never;
    }
    start = end;
  }
  return mixed ?? out;
}

/** What a parser returns for a text that is not a plain number. */
const NOT_PLAIN = Symbol("not plain");

const UTF8 = new TextDecoder();
const ZERO = 0x30;
const NINE = 0x39;
const PLUS = 0x2b;
const MINUS = 0x2d;
const POINT = 0x2e;
/** Exact powers of ten as doubles: 10^22 is the last. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));
/** Significant digits that always fit a double's 53 bits exactly. */
const EXACT_DIGITS = 15;

/**
 * A decimal text's number (as `Number(text)`), or NOT_PLAIN. Up to 15 significant digits and a power of ten up to
 * 22, one multiplication or division of two exact doubles is correctly rounded, as `Number` is (Clinger's fast
 * path); any other plain text goes through `Number`.
 */
function decimal(bytes: Uint8Array, start: number, end: number): number | typeof NOT_PLAIN {
  // Blanks around it go, as the coercion trims them.
  while (start < end && isBlank(bytes[start])) start++;
  while (end > start && isBlank(bytes[end - 1])) end--;
  let i = start;
  let negative = false;
  if (i < end && (bytes[i] === PLUS || bytes[i] === MINUS)) negative = bytes[i++] === MINUS;
  let significand = 0;
  let digits = 0;
  let scale = 0;
  let any = false;
  let exact = true;
  while (i < end && bytes[i] >= ZERO && bytes[i] <= NINE) {
    const d = bytes[i++] - ZERO;
    any = true;
    if (significand === 0 && d === 0) continue;
    if (digits < EXACT_DIGITS) {
      significand = significand * 10 + d;
      digits++;
    } else {
      exact = false;
    }
  }
  if (i < end && bytes[i] === POINT) {
    i++;
    while (i < end && bytes[i] >= ZERO && bytes[i] <= NINE) {
      const d = bytes[i++] - ZERO;
      any = true;
      if (significand === 0 && d === 0) {
        scale--;
      } else if (digits < EXACT_DIGITS) {
        significand = significand * 10 + d;
        digits++;
        scale--;
      } else {
        exact = false;
      }
    }
  }
  if (!any) return NOT_PLAIN;
  if (i < end && (bytes[i] | 0x20) === 0x65) {
    i++;
    let exponentNegative = false;
    if (i < end && (bytes[i] === PLUS || bytes[i] === MINUS)) exponentNegative = bytes[i++] === MINUS;
    if (i === end) return NOT_PLAIN;
    let exponent = 0;
    while (i < end && bytes[i] >= ZERO && bytes[i] <= NINE) {
      // Capped: past it `Number` says what the text is (leading zeros may take back as many powers of ten).
      if (exponent < 100_000) exponent = exponent * 10 + bytes[i] - ZERO;
      else exact = false;
      i++;
    }
    scale += exponentNegative ? -exponent : exponent;
  }
  if (i !== end) return NOT_PLAIN;
  let value: number;
  if (exact && significand === 0) value = 0;
  else if (exact && scale >= 0 && scale <= 22) value = significand * POW10[scale];
  else if (exact && scale < 0 && scale >= -22) value = significand / POW10[-scale];
  else return finite(Number(UTF8.decode(bytes.subarray(start, end))));
  return negative ? -value : value;
}

/** ASCII white space, as `String.prototype.trim` removes it (tab, line feed, vertical tab, form feed, return, space). */
function isBlank(b: number): boolean {
  return b === 0x20 || (b >= 0x09 && b <= 0x0d);
}

function finite(value: number): number | typeof NOT_PLAIN {
  return Number.isFinite(value) ? value : NOT_PLAIN;
}

/** The digits of an integer as it prints (`-12`; not `+12`, `012`, `-0`), or -1 where `bytes` is not one. */
function integerDigits(bytes: Uint8Array, start: number, end: number): number {
  const first = bytes[start] === MINUS ? start + 1 : start;
  if (first === end || (bytes[first] === ZERO && end - start > 1)) return -1;
  for (let i = first; i < end; i++) if (bytes[i] < ZERO || bytes[i] > NINE) return -1;
  return end - first;
}

function int32(bytes: Uint8Array, start: number, end: number): number | typeof NOT_PLAIN {
  const digits = integerDigits(bytes, start, end);
  if (digits < 0 || digits > 10) return NOT_PLAIN;
  let value = 0;
  for (let i = end - digits; i < end; i++) value = value * 10 + bytes[i] - ZERO;
  if (bytes[start] === MINUS) value = -value;
  return value >= -2147483648 && value <= 2147483647 ? value : NOT_PLAIN;
}

/** An integer's value: a number up to 15 digits (exact), a bigint beyond. */
function int64(bytes: Uint8Array, start: number, end: number): number | bigint | typeof NOT_PLAIN {
  const digits = integerDigits(bytes, start, end);
  if (digits < 0 || digits > 19) return NOT_PLAIN;
  if (digits <= EXACT_DIGITS) {
    let small = 0;
    for (let i = end - digits; i < end; i++) small = small * 10 + bytes[i] - ZERO;
    return bytes[start] === MINUS ? -small : small;
  }
  const value = BigInt(UTF8.decode(bytes.subarray(start, end)));
  return value >= -(1n << 63n) && value < 1n << 63n ? value : NOT_PLAIN;
}
