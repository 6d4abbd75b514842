/**
 * Writes rows as CSV with a header line, through a temporary file or, for
 * `-`, to standard output.
 *
 * Each batch becomes one string, column by column: a number column of a
 * typed array prints its numbers as they are, a column holding one value
 * on every row of the batch (the model's name) is printed once, and a field
 * is quoted only when it holds a quote, a comma or a line break (as RFC
 * 4180, and csv-stringify, do).
 */
import type { ColumnInfo, RowBatch, ValueType } from "../rows.ts";
import { type AtomicFile, createAtomicFile } from "./atomic_file.ts";
import { cellText } from "../value_codec.ts";
import type { Sink } from "./sink.ts";

/**
 * A CSV sink; `path` `-` is standard output.
 *
 * @example
 * ```ts
 * const sink = createCsvSink("predictions.csv");
 * await sink.open([{ name: "duration", type: "float64" }]);
 * await sink.write({ offset: 0, length: 1, columns: { duration: [12.5] } });
 * await sink.commit();
 * ```
 */
export function createCsvSink(path: string): Sink {
  let out: AtomicFile | undefined;
  let columns: ColumnInfo[] = [];
  const encoder = new TextEncoder();
  const target = () => (path === "-" ? Deno.stdout : out!.file);
  return {
    description: path === "-" ? "stdout" : path,
    async open(cols) {
      columns = cols;
      if (path !== "-") out = await createAtomicFile(path);
      await writeAll(target(), encoder.encode(cols.map((c) => csvField(c.name)).join(",") + "\n"));
    },
    async write(batch: RowBatch) {
      if (batch.length === 0) return;
      const cells = columns.map((c) => columnCells(batch.columns[c.name], c.type, batch.length));
      // The columns that hold one value on every row (the model's name and version) print as one text at the
      // end of each line, once per batch, when they come last.
      let last = cells.length;
      while (last > 1 && typeof cells[last - 1] === "string") last--;
      const tail = cells.slice(last).map((cell) => "," + cell).join("") + "\n";
      let text = "";
      for (let r = 0; r < batch.length; r++) {
        let line = cellAt(cells[0], r);
        for (let c = 1; c < last; c++) line += "," + cellAt(cells[c], r);
        text += line + tail;
      }
      await writeAll(target(), encoder.encode(text));
    },
    commit: async () => await out?.commit(),
    abort: async () => await out?.abort(),
  };
}

/** Writes every byte (a file write may be partial). */
export async function writeAll(file: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
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

/** How the rows of a column print. */
function columnCells(values: ArrayLike<unknown>, type: ValueType, length: number): Cells {
  const out = new Array<string>(length);
  if (ArrayBuffer.isView(values) && NUMBER_TYPES.has(type)) {
    for (let r = 0; r < length; r++) out[r] = String(values[r]);
    return out;
  }
  const first = values[0];
  let same = true;
  for (let r = 1; r < length && same; r++) same = values[r] === first;
  if (same) return csvField(cellText(first, type));
  for (let r = 0; r < length; r++) out[r] = csvField(cellText(values[r], type));
  return out;
}

/** A field, quoted when it holds a quote, a comma or a line break. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
