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
      let text = "";
      for (let r = 0; r < batch.length; r++) {
        let line = cells[0](r);
        for (let c = 1; c < cells.length; c++) line += "," + cells[c](r);
        text += line + "\n";
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

/** How row `r` of a column prints. */
function columnCells(values: ArrayLike<unknown>, type: ValueType, length: number): (r: number) => string {
  if (ArrayBuffer.isView(values) && NUMBER_TYPES.has(type)) return (r) => String(values[r]);
  const first = values[0];
  let same = true;
  for (let r = 1; r < length && same; r++) same = values[r] === first;
  if (same) {
    const cell = csvField(cellText(first, type));
    return () => cell;
  }
  return (r) => csvField(cellText(values[r], type));
}

/** A field, quoted when it holds a quote, a comma or a line break. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
