/**
 * Picks the reader for an input from its format: named, or from the file's
 * extension.
 */
import { fileFormat } from "../file_format.ts";
import { isPostgresUrl } from "../postgres/connect.ts";
import { openCsvSource } from "./csv_source.ts";
import { openJsonlSource } from "./jsonl_source.ts";
import { openParquetSource } from "./parquet_source.ts";
import { openPostgresSource, type PostgresSourceOptions } from "./postgres_source.ts";
import type { Source } from "./source.ts";

/**
 * Opens a file source, or a Postgres one for a `postgres://` URL (then
 * `postgres` says what to read).
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
): Promise<Source> {
  if (isPostgresUrl(path) && format === undefined) return openPostgresSource({ ...postgres, url: path });
  switch (fileFormat(path, format)) {
    case "parquet":
      return openParquetSource(path);
    case "csv":
      return openCsvSource(path);
    case "jsonl":
      return openJsonlSource(path);
  }
}
