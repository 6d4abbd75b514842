/**
 * Picks the reader for an input from its format: named, or from the file's
 * extension; `-` is standard input (JSON lines unless the format is named).
 */
import { UsageError } from "../errors.ts";
import { fileFormat } from "../file_format.ts";
import { isPostgresUrl } from "../postgres/mod.ts";
import { openCsvSource } from "./csv_source.ts";
import { STDIN } from "./file_size.ts";
import { openJsonlSource } from "./jsonl_source.ts";
import { openParquetSource } from "./parquet_source.ts";
import { openPostgresSource, type PostgresSourceOptions } from "./postgres_source.ts";
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
export function openSource(
  path: string,
  format?: string,
  postgres?: Omit<PostgresSourceOptions, "url">,
  formatLabel = "format",
): Promise<Source> {
  if (isPostgresUrl(path) && format === undefined) return openPostgresSource({ ...postgres, url: path });
  const stdin = path === "-";
  switch (stdin && format === undefined ? "jsonl" : fileFormat(path, format, formatLabel)) {
    case "parquet":
      // Parquet's footer is at the end: it needs a file it can seek in.
      if (stdin) return Promise.reject(new UsageError("Parquet cannot be read from stdin (-): give the file's path"));
      return openParquetSource(path);
    case "csv":
      return openCsvSource(stdin ? STDIN : path);
    case "jsonl":
      return openJsonlSource(stdin ? STDIN : path);
  }
}
