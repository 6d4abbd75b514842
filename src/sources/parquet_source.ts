/**
 * Reads a Parquet file through DuckDB (GZIP, SNAPPY, ZSTD, ..., nested
 * types), decoding only the columns asked for, in parallel, as typed
 * arrays, in a worker of its own (`reader_worker.ts`) while the job scores
 * the batch before. Memory stays bounded: DuckDB streams the file a few row
 * groups at a time, and the worker reads at most two batches ahead.
 */
import type { ColumnInfo } from "../rows.ts";
import { fileSize } from "./file_size.ts";
import { type ParquetFile, type ParquetRead, readingOf } from "./parquet_batches.ts";
import type { ReadOptions, Source } from "./source.ts";
import { openReaderWorker, type ReaderAhead, type ReaderWorker, startReaderWorker } from "./reader_client.ts";

/**
 * Starts ahead the file reader's worker (and its DuckDB) that opening `path` will take (see `startReaderWorker`);
 * nothing for a file that is not there (opening it says so).
 *
 * @example
 * ```ts
 * const ahead = await startParquetReader("rides.parquet");
 * await ahead?.release();
 * ```
 */
export async function startParquetReader(path: string): Promise<ReaderAhead | undefined> {
  const there = await fileSize(path).then(() => true, () => false);
  return there ? startReaderWorker() : undefined;
}

/**
 * Opens a Parquet source and reads its footer.
 *
 * @example
 * ```ts
 * const source = await openParquetSource("green_tripdata_2021-02.parquet");
 * source.columns.find((c) => c.name === "trip_distance"); // { name: "trip_distance", type: "float64" }
 * ```
 */
export async function openParquetSource(path: string): Promise<Source> {
  await fileSize(path);
  // DuckDB starts in the worker that reads the rows (see `reader_worker.ts`), and reads the footer there.
  let reader: ReaderWorker | undefined = await openReaderWorker();
  let file: ParquetFile;
  try {
    file = await reader.describeParquet(path);
  } catch (err) {
    await reader.close();
    throw err;
  }
  const { total } = file;
  const types = new Map(file.columns.map((d) => [d.name, d.type]));
  const columns = file.columns.map((d): ColumnInfo => ({ name: d.name, type: readingOf(d.type).type }));
  let done = 0;
  let closed = false;
  const readers = new Set<ReaderWorker>([reader]);
  return {
    description: path,
    columns,
    progress: () => ({ done, total }),
    async *batches({ batchSize, columns: wanted }: ReadOptions) {
      const names = wanted ?? columns.map((c) => c.name);
      // The worker opened with the source reads first; a read after it has one of its own.
      const worker = reader ?? await openReaderWorker();
      reader = undefined;
      readers.add(worker);
      // Closed while a later read's worker opened: it reads nothing.
      if (closed) await worker.close();
      // Dates and JSON are made here: the worker sends numbers and text.
      const converts = names.map((name) => [name, readingOf(types.get(name)!).convert] as const)
        .filter(([, convert]) => convert !== undefined);
      try {
        const read: ParquetRead = {
          kind: "parquet",
          path,
          columns: names.map((name) => ({ name, type: types.get(name)! })),
          total,
          batchSize,
        };
        for await (const batch of worker.batches(read)) {
          for (const [name, convert] of converts) batch.columns[name] = convert!(batch.columns[name]);
          done = batch.offset + batch.length;
          yield batch;
        }
      } finally {
        readers.delete(worker);
      }
    },
    close: async () => {
      closed = true;
      await Promise.all([...readers].map((r) => r.close()));
    },
  };
}
