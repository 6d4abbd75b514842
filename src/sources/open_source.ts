/**
 * Picks the reader for an input from its format: named, or from the file's
 * extension; `-` is standard input (JSON lines unless the format is named).
 */
import { UsageError } from "../errors.ts";
import { fileFormat } from "../file_format.ts";
import { isPostgresUrl } from "../postgres/postgres_url.ts";
import { lazyImport } from "../lazy_import.ts";
import type * as CsvSource from "./csv_source.ts";
import { STDIN } from "./file_size.ts";
import type * as JsonlSource from "./jsonl_source.ts";
import type * as ParquetSource from "./parquet_source.ts";
import type * as PostgresSource from "./postgres_source.ts";
import type { PostgresSourceOptions } from "./postgres_source.ts";
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
  if (isPostgresUrl(path) && format === undefined) {
    const { openPostgresSource } = await lazyImport<typeof PostgresSource>(
      new URL("./postgres_source.ts", import.meta.url),
    );
    return await openPostgresSource({ ...postgres, url: path });
  }
  const stdin = path === "-";
  switch (stdin && format === undefined ? "jsonl" : fileFormat(path, format, formatLabel)) {
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
