/**
 * Writes rows as CSV with a header line, through a temporary file.
 */
import { stringify } from "csv-stringify/sync";
import type { ColumnInfo, RowBatch } from "../rows.ts";
import { type AtomicFile, createAtomicFile } from "./atomic_file.ts";
import { cellText } from "./cell.ts";
import type { Sink } from "./sink.ts";

/**
 * A CSV file sink.
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
  return {
    description: path,
    async open(cols) {
      columns = cols;
      out = await createAtomicFile(path);
      await out.file.write(encoder.encode(stringify([cols.map((c) => c.name)])));
    },
    async write(batch: RowBatch) {
      const rows = new Array<string[]>(batch.length);
      const data = columns.map((c) => batch.columns[c.name]);
      for (let r = 0; r < batch.length; r++) {
        const row = new Array<string>(columns.length);
        for (let c = 0; c < columns.length; c++) row[c] = cellText(data[c][r], columns[c].type);
        rows[r] = row;
      }
      await writeAll(out!.file, encoder.encode(stringify(rows)));
    },
    commit: () => out!.commit(),
    abort: async () => await out?.abort(),
  };
}

/** Writes every byte (a file write may be partial). */
export async function writeAll(file: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}
