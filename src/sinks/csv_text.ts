/**
 * The CSV text of a batch, column by column: a number column of a typed
 * array prints its numbers as they are (`String(v)`), a column holding one
 * value on every row of the batch (the model's name) is printed once, and a
 * field is quoted only when it holds a quote, a comma or a line break (as
 * RFC 4180, and csv-stringify, do). Pure functions: the CSV sink runs them
 * in its writer worker (files) or in place (standard output).
 */
import type { ValueType } from "../rows.ts";
import { cellText } from "../value_codec.ts";

/**
 * A column as the text is made from it: its values; or, when every value is a string, their text joined and where
 * each ends (a worker receives one string far faster than thousands); or the one cell every row holds.
 */
export type CsvColumn =
  | { values: ArrayLike<unknown> }
  | { joined: string; ends: Int32Array<ArrayBuffer> }
  | { same: string };

/**
 * A batch column for {@linkcode csvText}: `{ same }` when every row holds the same value (found by identity, a
 * cheap check), else the values; with `join`, strings joined.
 *
 * @example
 * ```ts
 * csvColumn(["m", "m"], "string", 2); // { same: "m" }
 * csvColumn(new Float64Array([1.5, 2]), "float64", 2); // { values: Float64Array [1.5, 2] }
 * csvColumn(["a", "bc"], "string", 2, { join: true }); // { joined: "abc", ends: Int32Array [1, 3] }
 * ```
 */
export function csvColumn(
  values: ArrayLike<unknown>,
  type: ValueType,
  length: number,
  options: { join?: boolean } = {},
): CsvColumn {
  if (ArrayBuffer.isView(values) && NUMBER_TYPES.has(type)) return { values };
  const first = values[0];
  let r = 1;
  while (r < length && values[r] === first) r++;
  if (r === length) return { same: csvField(cellText(first, type)) };
  if (!options.join) return { values };
  const ends = new Int32Array(length);
  let end = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (typeof v !== "string") return { values };
    ends[i] = end += v.length;
  }
  return { joined: Array.prototype.join.call(values, ""), ends };
}

/**
 * The lines of `length` rows, each ending in `\n`.
 *
 * @example
 * ```ts
 * csvText([{ values: ["a", "b,c"] }, { same: "m" }], ["string", "string"], 2); // 'a,m\n"b,c",m\n'
 * ```
 */
export function csvText(columns: CsvColumn[], types: ValueType[], length: number): string {
  const cells = columns.map((c, i) =>
    "same" in c ? c.same : columnCells("joined" in c ? split(c.joined, c.ends) : c.values, types[i], length)
  );
  // The columns that hold one value on every row (the model's name and version) print as one text at the end of
  // each line, once per batch, when they come last.
  let last = cells.length;
  while (last > 1 && typeof cells[last - 1] === "string") last--;
  const tail = cells.slice(last).map((cell) => "," + cell).join("") + "\n";
  let text = "";
  for (let r = 0; r < length; r++) {
    let line = cellAt(cells[0], r);
    for (let c = 1; c < last; c++) line += "," + cellAt(cells[c], r);
    text += line + tail;
  }
  return text;
}

/**
 * The header line.
 *
 * @example
 * ```ts
 * csvHeader(["ride_id", "duration"]); // "ride_id,duration\n"
 * ```
 */
export function csvHeader(names: string[]): string {
  return names.map(csvField).join(",") + "\n";
}

/**
 * A field, quoted when it holds a quote, a comma or a line break.
 *
 * @example
 * ```ts
 * csvField('say "hi"'); // '"say ""hi"""'
 * ```
 */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The types whose typed-array values print as `String(v)` does. */
const NUMBER_TYPES = new Set<ValueType>([
  "float64",
  "float32",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
]);

/** A column's cells: one text when every row holds the same value, else each row's. */
type Cells = string | string[];

function cellAt(cells: Cells, r: number): string {
  return typeof cells === "string" ? cells : cells[r];
}

function split(joined: string, ends: Int32Array): string[] {
  const out = new Array<string>(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) out[i] = joined.slice(start, start = ends[i]);
  return out;
}

function columnCells(values: ArrayLike<unknown>, type: ValueType, length: number): Cells {
  const out = new Array<string>(length);
  if (ArrayBuffer.isView(values) && NUMBER_TYPES.has(type)) {
    for (let r = 0; r < length; r++) out[r] = String(values[r]);
    return out;
  }
  for (let r = 0; r < length; r++) out[r] = csvField(cellText(values[r], type));
  return out;
}
