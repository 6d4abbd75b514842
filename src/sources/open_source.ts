/**
 * Picks the reader for an input from its format: named, or from the file's
 * extension.
 */
import { fileFormat } from "../file_format.ts";
import { openCsvSource } from "./csv_source.ts";
import { openJsonlSource } from "./jsonl_source.ts";
import { openParquetSource } from "./parquet_source.ts";
import type { Source } from "./source.ts";

/**
 * Opens a file source.
 *
 * @example
 * ```ts
 * const source = await openSource("rides.csv");
 * ```
 */
export function openSource(path: string, format?: string): Promise<Source> {
  switch (fileFormat(path, format)) {
    case "parquet":
      return openParquetSource(path);
    case "csv":
      return openCsvSource(path);
    case "jsonl":
      return openJsonlSource(path);
  }
}
