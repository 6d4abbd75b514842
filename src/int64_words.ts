/**
 * Safe integers written into a 64-bit integer array as its two 32-bit
 * words, where `out[i] = BigInt(value)` makes a BigInt a value (and as much
 * garbage): a column of a million int64s read from text or coerced from
 * numbers is the common case for a model's integer inputs.
 */

/** Where the low and the high word of an element sit in an `Int32Array` over the same memory. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LOW = LITTLE_ENDIAN ? 0 : 1;
const HIGH = 1 - LOW;
const TWO_TO_32 = 4294967296;

/**
 * The array's memory as 32-bit words, for `setSafeInteger`.
 *
 * @example
 * ```ts
 * const out = new BigInt64Array(2);
 * const words = int64Words(out);
 * setSafeInteger(words, 1, -5); // out[1] === -5n
 * ```
 */
export function int64Words(out: BigInt64Array | BigUint64Array): Int32Array {
  return new Int32Array(out.buffer, out.byteOffset, out.length * 2);
}

/**
 * Element `i` of the array behind `words` set to `value`, a safe integer (|value| < 2^53; the caller checks), in two's
 * complement: the low word is the value modulo 2^32, the high word its floor division by 2^32.
 *
 * @example
 * ```ts
 * setSafeInteger(int64Words(out), 0, 2 ** 40); // out[0] === 1099511627776n
 * ```
 */
export function setSafeInteger(words: Int32Array, i: number, value: number): void {
  words[2 * i + LOW] = value >>> 0;
  words[2 * i + HIGH] = Math.floor(value / TWO_TO_32);
}
