/**
 * Picks the reader for an input from its format: named, or from the file's
 * extension; `-` is standard input (JSON lines unless the format is named).
 */
import { UsageError } from "../errors.ts";
import { type FileFormat, fileFormat } from "../file_format.ts";
import { isPostgresUrl } from "../postgres/postgres_url.ts";
import { lazyImport } from "../lazy_import.ts";
import type * as CsvSource from "./csv_source.ts";
import { STDIN } from "./file_size.ts";
import type * as JsonlSource from "./jsonl_source.ts";
import type * as ParquetSource from "./parquet_source.ts";
import type * as PostgresSource from "./postgres_source.ts";
import type { PostgresSourceOptions } from "./postgres_source.ts";
import type { ReaderAhead } from "./reader_client.ts";
import type { Source } from "./source.ts";

/**
 * Opens a file source, or a Postgres one for a `postgres://` URL (then
 * `postgres` says what to read); `formatLabel` names the format setting in errors.
 *
 * @example
 * ```ts
 * const source = await openSource("rides.csv");
 * const rows = await openSource("postgres://postgres@127.0.0.1/test", undefined, { table: "rides" });
 * ```
 */
export async function openSource(
  path: string,
  format?: string,
  postgres?: Omit<PostgresSourceOptions, "url">,
  formatLabel = "format",
): Promise<Source> {
  // Each reader (and its library: postgres.js, DuckDB, Papa Parse) loads only for its format.
  const stdin = path === "-";
  switch (readerFor(path, format, formatLabel)) {
    case "postgres": {
      const { openPostgresSource } = await lazyImport<typeof PostgresSource>(
        new URL("./postgres_source.ts", import.meta.url),
      );
      return await openPostgresSource({ ...postgres, url: path });
    }
    case "parquet": {
      // Parquet's footer is at the end: it needs a file it can seek in.
      if (stdin) throw new UsageError("Parquet cannot be read from stdin (-): give the file's path");
      const { openParquetSource } = await lazyImport<typeof ParquetSource>(
        new URL("./parquet_source.ts", import.meta.url),
      );
      return await openParquetSource(path);
    }
    case "csv": {
      const { openCsvSource } = await lazyImport<typeof CsvSource>(new URL("./csv_source.ts", import.meta.url));
      return await openCsvSource(stdin ? STDIN : path);
    }
    case "jsonl": {
      const { openJsonlSource } = await lazyImport<typeof JsonlSource>(new URL("./jsonl_source.ts", import.meta.url));
      return await openJsonlSource(stdin ? STDIN : path);
    }
  }
}

/** What {@linkcode prepareSource} started: whether it started anything, and how to close it if no source took it. */
export interface PreparedSource {
  started: boolean;
  release(): Promise<void>;
}

/**
 * Starts ahead, while the caller does other work (loads a model), what opening `path` as {@linkcode openSource}
 * would start the slowest: the file reader's worker and its DuckDB, for a Parquet file or a CSV file too large to
 * read in place. The next source opened takes it; `release` closes it if none did. Any input is taken: what is
 * wrong with one (no such file, an unknown format) is for `openSource` to say.
 *
 * @example
 * ```ts
 * const prepared = await prepareSource("rides.parquet");
 * try {
 *   const source = await openSource("rides.parquet"); // takes the worker started ahead
 * } finally {
 *   await prepared.release();
 * }
 * ```
 */
export async function prepareSource(path: string, format?: string): Promise<PreparedSource> {
  let started: ReaderAhead | undefined;
  let reader: string | undefined;
  try {
    reader = path === "-" ? undefined : readerFor(path, format);
  } catch {
    // An unknown format: openSource names it.
  }
  if (reader === "parquet") {
    const { startParquetReader } = await lazyImport<typeof ParquetSource>(
      new URL("./parquet_source.ts", import.meta.url),
    );
    started = await startParquetReader(path);
  } else if (reader === "csv") {
    const { startCsvReader } = await lazyImport<typeof CsvSource>(new URL("./csv_source.ts", import.meta.url));
    started = await startCsvReader(path);
  } else if (reader === "jsonl") {
    const { startJsonReader } = await lazyImport<typeof JsonlSource>(new URL("./jsonl_source.ts", import.meta.url));
    started = await startJsonReader(path);
  }
  return { started: started !== undefined, release: () => started?.release() ?? Promise.resolve() };
}

/** The reader of an input: Postgres for a `postgres://` URL without a format, else the file's format (`-`: JSON lines). */
function readerFor(path: string, format: string | undefined, formatLabel?: string): "postgres" | FileFormat {
  if (format === undefined && isPostgresUrl(path)) return "postgres";
  return path === "-" && format === undefined ? "jsonl" : fileFormat(path, format, formatLabel);
}
