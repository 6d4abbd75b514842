/**
 * How our value types meet Postgres types: a query's column types (by
 * OID) read as value types, and value types written as column types when a
 * table is created.
 */
import type { ColumnInfo, ValueType } from "../rows.ts";

// The built-in OIDs whose values postgres.js parses (with our bigint and
// naive-timestamp parsers); everything else arrives as text.
const BY_OID: Record<number, ValueType> = {
  16: "bool",
  20: "int64",
  21: "int16",
  23: "int32",
  26: "int64",
  700: "float32",
  701: "float64",
  1082: "date",
  1114: "timestamp",
  1184: "timestamptz",
  114: "json",
  3802: "json",
};

/**
 * The value type of a query column with type `oid` (`numeric` stays text
 * so no digit is lost; arrays are JSON).
 *
 * @example
 * ```ts
 * valueTypeOfOid(701); // "float64"
 * ```
 */
export function valueTypeOfOid(oid: number, isArray = false): ValueType {
  if (isArray) return "json";
  return BY_OID[oid] ?? "string";
}

const DDL: Record<ValueType, string> = {
  string: "text",
  float64: "double precision",
  float32: "real",
  int8: "smallint",
  int16: "smallint",
  int32: "integer",
  int64: "bigint",
  uint8: "smallint",
  uint16: "integer",
  uint32: "bigint",
  uint64: "numeric(20)",
  bool: "boolean",
  timestamp: "timestamp",
  timestamptz: "timestamptz",
  date: "date",
  json: "jsonb",
};

/**
 * The column type a new table gets: the source's own Postgres type when
 * the column came from Postgres, else the value type's.
 *
 * @example
 * ```ts
 * pgTypeOf({ name: "duration", type: "float64" }); // "double precision"
 * ```
 */
export function pgTypeOf(column: ColumnInfo): string {
  return column.dbType ?? DDL[column.type];
}
