/**
 * Picks the writer for an output from its format: named, or from the
 * file's extension; `-` is JSON lines on stdout.
 */
import { UsageError } from "../errors.ts";
import { fileFormat } from "../file_format.ts";
import { isPostgresUrl } from "../postgres/postgres_url.ts";
import { checkWritable } from "./atomic_file.ts";
import { createCsvSink } from "./csv_sink.ts";
import { createJsonlSink } from "./jsonl_sink.ts";
import { lazyImport } from "../lazy_import.ts";
import type * as ParquetSink from "./parquet_sink.ts";
import type { PostgresSinkOptions } from "./postgres_sink.ts";
import type * as PostgresSink from "./postgres_sink.ts";
import type { Sink, SinkExpectations } from "./sink.ts";

/** How errors name what is written and its format setting (the caller's flags). */
export interface SinkLabels {
  /** What is written, e.g. "output" or "rejects target". */
  target?: string;
  /** The setting that names the format. */
  format?: string;
  /** The setting that names a Postgres table. */
  table?: string;
}

/**
 * Creates a file sink, or a Postgres one for a `postgres://` URL (then
 * `postgres` names the table); nothing is opened until `open`. The Parquet
 * and Postgres writers (DuckDB's and the Postgres client's code) load only
 * for an output of theirs: a CSV job loads neither.
 *
 * @example
 * ```ts
 * const sink = await createSink("predictions.parquet");
 * const table = await createSink("postgres://postgres@127.0.0.1/test", undefined, { table: "preds" });
 * ```
 */
export async function createSink(
  path: string,
  format?: string,
  postgres?: Omit<PostgresSinkOptions, "url">,
  labels: SinkLabels = {},
  expect: SinkExpectations = {},
): Promise<Sink> {
  const flag = labels.format ?? "format";
  if (isPostgresUrl(path) && format === undefined) {
    if (!postgres?.table) {
      throw new UsageError(
        `A Postgres ${labels.target ?? "output"} needs ${labels.table ?? "table"} NAME`,
      );
    }
    const { createPostgresSink } = await lazyImport<typeof PostgresSink>(
      new URL("./postgres_sink.ts", import.meta.url),
    );
    return createPostgresSink({ ...postgres, url: path });
  }
  if (path === "-" && format === undefined) return createJsonlSink("-");
  if (path === "-" && format === "parquet") {
    throw new UsageError(`Parquet cannot be written to stdout (-): give a file name, or ${flag} csv or jsonl`);
  }
  switch (fileFormat(path, format, flag)) {
    case "parquet":
      return (await lazyImport<typeof ParquetSink>(new URL("./parquet_sink.ts", import.meta.url)))
        .createParquetSink(path);
    case "csv":
      return createCsvSink(path, expect);
    case "jsonl":
      return createJsonlSink(path);
  }
}

/**
 * Fails now, naming `flag`, when a file output could not be written (see
 * {@linkcode checkWritable}); stdout and Postgres outputs pass.
 *
 * @example
 * ```ts
 * await checkTarget("/tmp/out/predictions.csv", undefined, "--output");
 * ```
 */
export async function checkTarget(path: string, format: string | undefined, flag: string): Promise<void> {
  if (path === "-" || (format === undefined && isPostgresUrl(path))) return;
  await checkWritable(path, flag);
}
