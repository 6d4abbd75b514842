/**
 * Writing rows with `COPY ... FROM STDIN` (text format), the fast way into
 * Postgres: one round trip per batch instead of one per row. Shared by the
 * Postgres sink, the rejects table and `score serve --log-predictions`.
 */
import { once } from "node:events";
import type { ColumnInfo, RowBatch, ValueType } from "../rows.ts";
import { jsonText } from "../value_codec.ts";
import type { Sql } from "./connect.ts";
import { quoteIdent, quoteTable } from "./identifier.ts";
import { onLateQueryError } from "./postgres_js_internals.ts";

/** An open `COPY ... FROM STDIN`: batches stream in while Postgres ingests them. */
export interface CopyWriter {
  /** Sends a batch; waits only while the connection's buffer is full. */
  write(batch: RowBatch): Promise<void>;
  /** Sends rows already in COPY text (from {@linkcode copyEncoder}); `rows` is how many lines it holds. */
  writeText(text: string, rows: number): Promise<void>;
  /** Ends the COPY and resolves once Postgres has taken every row; returns the row count. */
  end(): Promise<number>;
  /** Abandons the COPY (Postgres rolls back the statement). */
  cancel(): Promise<void>;
}

/**
 * Starts one COPY into `table` (columns in `columns` order) that stays
 * open across batches, so Postgres ingests one batch while the next is
 * prepared. Run it inside a transaction to make the rows visible at once.
 *
 * @example
 * ```ts
 * const copy = await openCopy(sql, "predictions", [{ name: "duration", type: "float64" }]);
 * await copy.write({ offset: 0, length: 1, columns: { duration: [12.5] } });
 * await copy.end();
 * ```
 */
export async function openCopy(sql: Sql, table: string, columns: ColumnInfo[]): Promise<CopyWriter> {
  const names = columns.map((c) => quoteIdent(c.name, "column name")).join(", ");
  const query = sql.unsafe(`copy ${quoteTable(table)} (${names}) from stdin`);
  const stream = await query.writable();
  // postgres.js settles the query when COPY starts; a later error response
  // (a value the column cannot take) is caught through the adapter.
  let failure: unknown;
  let fail!: (err: unknown) => void;
  const failed = new Promise<never>((_, reject) => fail = reject);
  failed.catch(() => {});
  onLateQueryError(query, (err) => {
    failure ??= err;
    fail(err);
  });
  stream.on("error", (err) => (failure ??= err));
  const encode = copyEncoder(columns);
  let rows = 0;
  const writeText = async (text: string, n: number) => {
    if (failure) throw failure;
    if (n === 0) return;
    rows += n;
    if (!stream.write(text)) await Promise.race([once(stream, "drain"), failed]);
  };
  return {
    write: (batch) => batch.length === 0 ? writeText("", 0) : writeText(encode(batch), batch.length),
    writeText,
    async end() {
      if (failure) throw failure;
      stream.end();
      await Promise.race([once(stream, "finish"), failed]);
      return rows;
    },
    async cancel() {
      if (stream.destroyed || stream.writableFinished) return;
      const settled = failed.catch(() => {});
      try {
        stream.destroy(new Error("COPY cancelled"));
      } catch {
        // postgres.js writes the CopyFail on a socket that may be gone already.
      }
      await Promise.race([settled, new Promise((r) => setTimeout(r, 1000))]);
    },
  };
}

/**
 * Copies one batch into `table` with its own COPY.
 *
 * @example
 * ```ts
 * await copyRows(sql, "predictions", [{ name: "duration", type: "float64" }], { offset: 0, length: 1, columns: { duration: [12.5] } });
 * ```
 */
export async function copyRows(sql: Sql, table: string, columns: ColumnInfo[], batch: RowBatch): Promise<number> {
  if (batch.length === 0) return 0;
  const copy = await openCopy(sql, table, columns);
  await copy.write(batch);
  return await copy.end();
}

/**
 * Encodes rows in COPY text format: tab-separated, `\N` for null,
 * backslash escapes for tab, newline, carriage return and backslash.
 * Postgres cannot store U+0000 in text or jsonb, nor a lone UTF-16
 * surrogate: both become U+FFFD in text and in JSON values (keys too), so
 * one odd value never fails a whole COPY.
 *
 * @example
 * ```ts
 * copyText([{ name: "a", type: "string" }], { offset: 0, length: 2, columns: { a: ["x\ty", null] } }); // "x\\ty\n\\N\n"
 * ```
 */
export function copyText(columns: ColumnInfo[], batch: RowBatch): string {
  return copyEncoder(columns)(batch);
}

/**
 * An encoder of batches into COPY text for `columns`, made once and reused
 * (it caches a constant column's text between rows).
 *
 * @example
 * ```ts
 * const encode = copyEncoder([{ name: "doc", type: "json" }]);
 * encode({ offset: 0, length: 1, columns: { doc: [{ s: "a\u0000b" }] } }); // '{"s":"a\uFFFDb"}\n'
 * ```
 */
export function copyEncoder(columns: ColumnInfo[]): (batch: RowBatch) => string {
  // A Postgres array column (kept from a Postgres source) takes an array literal, not the JSON its values read as.
  const cells = columns.map((c) => cached(c.dbType?.endsWith("[]") ? arrayCell : encoderFor(c.type)));
  return (batch) => encodeBatch(columns, cells, batch);
}

// Constant columns (model, window, scored_at) repeat one value: encode it once.
function cached(encode: Encode): Encode {
  let last: unknown = Symbol();
  let text = "";
  return (v) => {
    if (v !== last) {
      text = encode(v); // assigned after: a value that throws is not cached
      last = v;
    }
    return text;
  };
}

function encodeBatch(columns: ColumnInfo[], cells: Encode[], batch: RowBatch): string {
  const values = columns.map((c) => batch.columns[c.name]);
  const k = columns.length;
  const lines = new Array<string>(batch.length);
  for (let r = 0; r < batch.length; r++) {
    let line = cells[0](values[0][r]);
    for (let c = 1; c < k; c++) line += "\t" + cells[c](values[c][r]);
    lines[r] = line;
  }
  return lines.join("\n") + "\n";
}

type Encode = (v: unknown) => string;

const NULL = "\\N";

function encoderFor(type: ValueType): Encode {
  switch (type) {
    case "float64":
    case "float32":
      return (v) => (v === null || v === undefined ? NULL : typeof v === "number" ? number(v) : escape(String(v)));
    case "int8":
    case "int16":
    case "int32":
    case "int64":
    case "uint8":
    case "uint16":
    case "uint32":
    case "uint64":
      return (
        v,
      ) => (v === null || v === undefined
        ? NULL
        : typeof v === "number" && !Number.isFinite(v)
        ? NULL
        : escape(String(v)));
    case "bool":
      return (
        v,
      ) => (v === null || v === undefined
        ? NULL
        : v === true || v === 1 || v === 1n || v === "true" || v === "t"
        ? "t"
        : "f");
    case "timestamp":
      return (v) => time(v, (iso) => iso.slice(0, -1));
    case "timestamptz":
      return (v) => time(v, (iso) => iso.slice(0, -1) + "+00");
    case "date":
      return (v) => time(v, (iso) => iso.slice(0, 10));
    case "json":
      return (
        v,
      ) => (v === null || v === undefined ? NULL : escape(storableJson(jsonText(v))));
    case "string":
      return (
        v,
      ) => (v === null || v === undefined ? NULL : escape(
        typeof v === "string"
          ? v
          : v instanceof Date
          ? v.toISOString()
          : typeof v === "object"
          ? jsonText(v)
          : String(v),
      ));
  }
}

/** A list as a Postgres array literal (`{"a","b,c",NULL}`), each element quoted; anything else as JSON. */
function arrayCell(v: unknown): string {
  if (v === null || v === undefined) return NULL;
  return escape(Array.isArray(v) ? arrayLiteral(v) : jsonText(v));
}

function arrayLiteral(list: unknown[]): string {
  const items = list.map((e) => {
    if (e === null || e === undefined) return "NULL";
    if (Array.isArray(e)) return arrayLiteral(e);
    const text = e instanceof Date
      ? e.toISOString()
      : typeof e === "boolean"
      ? (e ? "t" : "f")
      : typeof e === "object"
      ? jsonText(e)
      : typeof e === "number"
      ? number(e)
      : String(e);
    return `"${text.replace(/[\\"]/g, (c) => "\\" + c)}"`;
  });
  return `{${items.join(",")}}`;
}

function number(v: number): string {
  if (Number.isFinite(v)) return String(v);
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

function time(v: unknown, format: (iso: string) => string): string {
  if (v === null || v === undefined) return NULL;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? NULL : format(v.toISOString());
  return escape(String(v));
}

const SPECIAL = /[\\\t\n\r\0]/;
const SPECIALS = /[\\\t\n\r\0]/g;
const ESCAPES: Record<string, string> = { "\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\uFFFD" };

// Every value's text passes here: lone surrogates and NULs, which Postgres
// cannot store, become U+FFFD; COPY's special characters are escaped.
function escape(s: string): string {
  if (!s.isWellFormed()) s = s.toWellFormed();
  if (!SPECIAL.test(s)) return s;
  return s.replace(SPECIALS, (c) => ESCAPES[c]);
}

// JSON.stringify writes NUL as \u0000 and a lone surrogate as \udXXX, escapes
// jsonb refuses; an escaped backslash is matched first so "\\u0000" stays.
const BAD_JSON = /\\u(?:0000|d[89a-f])/i;
const BAD_JSON_ESCAPES = /\\\\|\\u(?:0000|d[89a-f][0-9a-f]{2})/gi;

function storableJson(json: string): string {
  if (!BAD_JSON.test(json)) return json;
  return json.replace(BAD_JSON_ESCAPES, (m) => (m === "\\\\" ? m : "\uFFFD"));
}
