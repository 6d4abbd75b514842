/**
 * Values to and from JSON and text, with one policy for integers beyond
 * 2^53 used by every reader and writer: exact. A reader keeps such an
 * integer as a bigint (as Parquet's and Postgres' int64 are), a writer
 * writes a bigint as its digits, a plain JSON number. Ids survive a trip
 * through score unchanged, whichever way they come and go.
 *
 * @example
 * ```ts
 * const v = parseJson('{"ride_id": 9007199254740993}'); // { ride_id: 9007199254740993n }
 * jsonText(v); // '{"ride_id":9007199254740993}'
 * ```
 */
import type { ValueType } from "./rows.ts";

/**
 * JSON text in, values out; an integer beyond 2^53 becomes a bigint.
 *
 * @example
 * ```ts
 * parseJson('{"ride_id": 9007199254740993}'); // { ride_id: 9007199254740993n }
 * ```
 */
export function parseJson(text: string): unknown {
  const value = JSON.parse(text);
  // The reviver is many times slower than JSON.parse (V8 keeps each value's source text for it): it is only worth it
  // when JSON.parse may have rounded a number, which a walk of the parsed values tells (more cheaply than a search of
  // the text for long runs of digits would).
  return hasUnsafeInteger(value) ? JSON.parse(text, exactIntegers) : value;
}

/**
 * Whether a parsed JSON value holds a number JSON.parse may have rounded:
 * an integer beyond 2^53 (an integer literal that large parses to one, a
 * smaller one parses exactly). Ordinary floats, however many digits they
 * were written with, are not.
 *
 * @example
 * ```ts
 * hasUnsafeInteger(JSON.parse('[0.47000000000000003]')); // false
 * hasUnsafeInteger(JSON.parse('{"id": 9007199254740993}')); // true
 * ```
 */
export function hasUnsafeInteger(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return isUnsafeInteger(value);
  // A stack, not recursion: JSON.parse takes nesting deeper than the call stack. Only objects and arrays go on it.
  const stack: object[] = [value];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x === "object" && x !== null) stack.push(x);
        else if (isUnsafeInteger(x)) return true;
      }
    } else {
      for (const key in v) {
        const x = (v as Record<string, unknown>)[key];
        if (typeof x === "object" && x !== null) stack.push(x);
        else if (isUnsafeInteger(x)) return true;
      }
    }
  }
  return false;
}

function isUnsafeInteger(v: unknown): boolean {
  return typeof v === "number" && !Number.isSafeInteger(v) && Number.isInteger(v);
}

function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source && /^-?\d+$/.test(context.source)) {
    return BigInt(context.source);
  }
  return value;
}

/**
 * JSON text with every bigint written as its exact digits (a JSON number),
 * where `JSON.stringify` would throw.
 *
 * @example
 * ```ts
 * jsonText({ ride_id: 9007199254740993n }); // '{"ride_id":9007199254740993}'
 * ```
 */
export function jsonText(value: unknown): string {
  // A replacer makes JSON.stringify several times slower, and only a bigint needs it: JSON.stringify throws on one.
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify(value, exactBigints);
  }
}

const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

function exactBigints(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? rawJSON(v.toString()) : v;
}

/**
 * A value as it goes into a JSON document: a bigint as a number (its
 * exact digits beyond 2^53, however the document is stringified), dates as
 * ISO text, 0/1 bools as booleans, NaN and infinities as null.
 *
 * @example
 * ```ts
 * jsonValue(130n, "int64"); // 130
 * JSON.stringify({ id: jsonValue(2n ** 60n, "int64") }); // '{"id":1152921504606846976}'
 * ```
 */
export function jsonValue(v: unknown, type: ValueType): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return isoTime(v, type);
  if (type === "bool") return Boolean(v);
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : rawJSON(v.toString());
  if (typeof v === "number" && !Number.isFinite(v)) return null;
  return v;
}

/**
 * A value as text in a text format (CSV): timestamps in ISO 8601 (naive
 * ones without a zone), bools as true/false, null as the empty field,
 * objects as JSON.
 *
 * @example
 * ```ts
 * cellText(new Date(0), "timestamp"); // "1970-01-01T00:00:00"
 * ```
 */
export function cellText(v: unknown, type: ValueType): string {
  if (v === null || v === undefined) return "";
  if (v instanceof Date) return isoTime(v, type);
  if (type === "bool") return v ? "true" : "false";
  if (typeof v === "string") return v;
  if (typeof v === "object") return jsonText(v);
  return String(v);
}

/**
 * Whether a parsed JSON value is an object (not an array, not null): the
 * guard every reader of a JSON document uses.
 *
 * @example
 * ```ts
 * isJsonObject(parseJson('{"a": 1}')); // true
 * ```
 */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isoTime(d: Date, type: ValueType): string {
  if (Number.isNaN(d.getTime())) return "";
  const iso = d.toISOString();
  if (type === "date") return iso.slice(0, 10);
  if (type === "timestamp") return iso.endsWith(".000Z") ? iso.slice(0, -5) : iso.slice(0, -1);
  return iso;
}
