/**
 * A CSV file's rows as DuckDB reads them, in the reader's worker
 * (`reader_worker.ts`); the CSV source reads on in JavaScript from the
 * first row DuckDB stops on.
 */
import { type DuckDB, sqlName, sqlString } from "../duckdb/mod.ts";
import { isTextBytes } from "../text_bytes.ts";
import { type ColumnBatch, duckdbBatches, endMarked } from "./duckdb_batches.ts";
import { plainNumbers } from "./plain_numbers.ts";
import type { ReadOptions } from "./source.ts";

/**
 * The bytes DuckDB reads at a time: a sixteenth of its default (32 MiB). Each buffer is fresh memory, and on a
 * virtual machine every page of it costs a page fault, so smaller buffers cost less CPU (bench/NOTES.md). The first
 * rows also come sooner.
 */
const DUCKDB_BUFFER_BYTES = 2 << 20;
/**
 * The longest row DuckDB reads: its whole buffer, about its default (2 MB). A longer row stops it, and JavaScript
 * reads on from there, as it does after a ragged row.
 */
const DUCKDB_MAX_LINE_BYTES = DUCKDB_BUFFER_BYTES;

/** A CSV file for DuckDB to read (see {@linkcode duckdbCsvBatches}): its header as read, and what of it to read. */
export interface CsvRead {
  kind: "csv";
  path: string;
  delimiter: string;
  header: string[];
  options: ReadOptions;
}

/**
 * A CSV file's rows past its header as DuckDB reads them, text as bytes (run by `reader_worker.ts`). It ends with
 * an error at the first row DuckDB cannot read (a ragged row, ...), after the batches before that row.
 *
 * @example
 * ```ts
 * const read: CsvRead = { kind: "csv", path: "rides.csv", delimiter: ",", header: ["ride_id", "trip_distance"], options: { batchSize: 10_000 } };
 * for await (const batch of duckdbCsvBatches(db, read)) batch.columns.ride_id;
 * ```
 */
export async function* duckdbCsvBatches(db: DuckDB, read: CsvRead): AsyncGenerator<ColumnBatch> {
  const { path, delimiter, header, options: { batchSize, columns, numbers } } = read;
  const wanted = columns ?? header;
  const file = `read_csv(${sqlString(path)}, header = true, auto_detect = false, columns = {${
    header.map((n) => `${sqlString(n)}: 'VARCHAR'`).join(", ")
  }}, delim = ${
    sqlString(delimiter)
  }, quote = '"', escape = '"', strict_mode = true, null_padding = false, buffer_size = ${DUCKDB_BUFFER_BYTES}, max_line_size = ${DUCKDB_MAX_LINE_BYTES})`;
  // Every column as text (a null as the empty text): the numbers are read from it here (`plainNumbers`).
  const selected = wanted.map((_, c) => `v${c}`);
  const sql = `select ${wanted.map((name, c) => `coalesce(${sqlName(name)}, '') as ${sqlName(`v${c}`)}`).join(", ")} ` +
    `from ${file}`;
  // A stream that fails midway (a ragged row) ends as if it were done: its last row marks its end, and a stream
  // that ends without it sends the reading on to JavaScript.
  for await (
    const batch of duckdbBatches(db.connection, endMarked(sql, selected), selected, batchSize, {
      endMarked: true,
      textBytes: true,
    })
  ) {
    const out: ColumnBatch["columns"] = {};
    wanted.forEach((name, c) => {
      const text = batch.columns[`v${c}`];
      const number = numbers?.[name];
      if (!isTextBytes(text)) throw new Error(`DuckDB gave column "${name}" as values, not text`);
      out[name] = number === undefined ? text : plainNumbers(text, number);
    });
    yield { offset: batch.offset, length: batch.length, columns: out };
  }
}
