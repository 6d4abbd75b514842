/**
 * How one value of a column prints in a text format (CSV, JSON lines).
 */
import type { ValueType } from "../rows.ts";

/**
 * A value as CSV text: timestamps in ISO 8601 (naive ones without a zone),
 * bools as true/false, null as the empty field.
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
  if (typeof v === "object") return JSON.stringify(v, jsonSafe);
  return String(v);
}

/**
 * A value as it goes into a JSON document: bigints as numbers when exact,
 * dates as ISO text, 0/1 bools as booleans.
 *
 * @example
 * ```ts
 * jsonValue(130n, "int64"); // 130
 * ```
 */
export function jsonValue(v: unknown, type: ValueType): unknown {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return isoTime(v, type);
  if (type === "bool") return Boolean(v);
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (typeof v === "number" && !Number.isFinite(v)) return null;
  return v;
}

/** `JSON.stringify` replacer that keeps bigints. */
export function jsonSafe(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? (Number.isSafeInteger(Number(v)) ? Number(v) : String(v)) : v;
}

function isoTime(d: Date, type: ValueType): string {
  if (Number.isNaN(d.getTime())) return "";
  const iso = d.toISOString();
  if (type === "date") return iso.slice(0, 10);
  if (type === "timestamp") return iso.endsWith(".000Z") ? iso.slice(0, -5) : iso.slice(0, -1);
  return iso;
}
