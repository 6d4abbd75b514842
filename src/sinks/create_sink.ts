/**
 * Picks the writer for an output from its format: named, or from the
 * file's extension; `-` is JSON lines on stdout.
 */
import { fileFormat } from "../file_format.ts";
import { createCsvSink } from "./csv_sink.ts";
import { createJsonlSink } from "./jsonl_sink.ts";
import { createParquetSink } from "./parquet_sink.ts";
import type { Sink } from "./sink.ts";

/**
 * Creates a file sink (nothing is opened until `open`).
 *
 * @example
 * ```ts
 * const sink = createSink("predictions.parquet");
 * ```
 */
export function createSink(path: string, format?: string, flag = "--output-format"): Sink {
  if (path === "-" && format === undefined) return createJsonlSink("-");
  switch (fileFormat(path, format, flag)) {
    case "parquet":
      return createParquetSink(path);
    case "csv":
      return createCsvSink(path);
    case "jsonl":
      return createJsonlSink(path);
  }
}
