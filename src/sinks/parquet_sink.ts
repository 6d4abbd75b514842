/**
 * Writes rows as Parquet (SNAPPY, dictionary-encoded where it pays, row
 * groups of `rowGroupSize` rows) through a temporary file, with DuckDB's
 * writer. Column types follow the source's: timestamps stay timestamps,
 * int64 stays int64.
 */
import { preloadDuckDB } from "../duckdb/mod.ts";
import type { RowBatch } from "../rows.ts";
import { type AtomicFile, createAtomicFile } from "./atomic_file.ts";
import { openStaging, type Staging } from "./duckdb_staging.ts";
import type { Sink } from "./sink.ts";

/**
 * A Parquet file sink. Rows are staged (memory bounded, spilled to disk
 * past a limit) and the file is written at commit.
 *
 * @example
 * ```ts
 * const sink = createParquetSink("predictions.parquet", { rowGroupSize: 122_880 });
 * ```
 */
export function createParquetSink(path: string, options: { rowGroupSize?: number } = {}): Sink {
  const rowGroupSize = options.rowGroupSize ?? 122_880;
  // The file readers' DuckDB is a worker's: this thread's is loaded now, not when the job opens its outputs.
  preloadDuckDB();
  let out: AtomicFile | undefined;
  let staging: Staging | undefined;
  return {
    description: path,
    async open(cols) {
      out = await createAtomicFile(path);
      try {
        staging = await openStaging(cols);
      } catch (err) {
        await out.abort();
        throw err;
      }
    },
    write: (batch: RowBatch) => staging!.write(batch),
    async commit() {
      try {
        // DuckDB writes the temporary file in place (no file of its own), so the rename makes it visible at once.
        await staging!.copyTo(
          out!.path,
          `format parquet, compression snappy, row_group_size ${rowGroupSize}, use_tmp_file false`,
        );
      } finally {
        await staging!.close();
      }
      await out!.commit();
    },
    async abort() {
      await staging?.close();
      await out?.abort();
    },
  };
}
