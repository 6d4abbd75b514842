/**
 * Picks the writer for an output from its format: named, or from the
 * file's extension; `-` is JSON lines on stdout.
 */
import { UsageError } from "../errors.ts";
import { fileFormat } from "../file_format.ts";
import { isPostgresUrl } from "../postgres/connect.ts";
import { createCsvSink } from "./csv_sink.ts";
import { createJsonlSink } from "./jsonl_sink.ts";
import { createParquetSink } from "./parquet_sink.ts";
import { createPostgresSink, type PostgresSinkOptions } from "./postgres_sink.ts";
import type { Sink } from "./sink.ts";

/**
 * Creates a file sink, or a Postgres one for a `postgres://` URL (then
 * `postgres` names the table); nothing is opened until `open`.
 *
 * @example
 * ```ts
 * const sink = createSink("predictions.parquet");
 * const table = createSink("postgres://postgres@127.0.0.1/test", undefined, undefined, { table: "preds" });
 * ```
 */
export function createSink(
  path: string,
  format?: string,
  flag = "--output-format",
  postgres?: Omit<PostgresSinkOptions, "url">,
): Sink {
  if (isPostgresUrl(path) && format === undefined) {
    if (!postgres?.table) {
      throw new UsageError(
        `A Postgres ${
          flag === "--output-format" ? "output needs --output-table" : "rejects target needs --rejects-table"
        } NAME`,
      );
    }
    return createPostgresSink({ ...postgres, url: path });
  }
  if (path === "-" && format === undefined) return createJsonlSink("-");
  if (path === "-" && format === "parquet") {
    throw new UsageError(`Parquet cannot be written to stdout (-): give a file name, or ${flag} csv or jsonl`);
  }
  switch (fileFormat(path, format, flag)) {
    case "parquet":
      return createParquetSink(path);
    case "csv":
      return createCsvSink(path);
    case "jsonl":
      return createJsonlSink(path);
  }
}
