/**
 * Reads a Parquet file one row group at a time (GZIP, SNAPPY, ZSTD, ...),
 * decoding only the columns asked for.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetScan, parquetSchema } from "hyparquet";
import type { FileMetaData, SchemaElement } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { InputError } from "../errors.ts";
import type { ColumnInfo, RowBatch, ValueType } from "../rows.ts";
import { fileSize } from "./file_size.ts";
import type { ReadOptions, Source } from "./source.ts";

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
  const file = await asyncBufferFromFile(path);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new InputError(`Cannot read Parquet file ${path}: ${(err as Error).message}`, { cause: err });
  }
  const columns = parquetSchema(metadata).children.map((c): ColumnInfo => ({
    name: c.element.name,
    type: c.children.length > 0 ? "json" : valueType(c.element),
  }));
  const total = Number(metadata.num_rows);
  let done = 0;
  return {
    description: path,
    columns,
    progress: () => ({ done, total }),
    async *batches({ batchSize, columns: wanted }: ReadOptions): AsyncGenerator<RowBatch> {
      const names = wanted ?? columns.map((c) => c.name);
      const scan = await parquetScan({ file, metadata, compressors, columns: names });
      for (const range of scan.ranges) {
        // One row group at a time: memory is bounded by the largest row group.
        const data: Record<string, ArrayLike<unknown>> = {};
        for (const column of names) {
          try {
            data[column] = await scan.readColumn({ column, ...range });
          } catch (err) {
            throw new InputError(
              `Cannot read Parquet file ${path}: column "${column}", rows ${range.rowStart}-${range.rowEnd}: ${
                (err as Error).message
              }`,
              { cause: err },
            );
          }
        }
        for (let start = range.rowStart; start < range.rowEnd; start += batchSize) {
          const end = Math.min(start + batchSize, range.rowEnd);
          const from = start - range.rowStart;
          yield {
            offset: start,
            length: end - start,
            columns: Object.fromEntries(names.map((n) => [n, slice(data[n], from, from + end - start)])),
          };
          done = end;
        }
      }
    },
    close: () => Promise.resolve(),
  };
}

function slice(values: ArrayLike<unknown>, start: number, end: number): ArrayLike<unknown> {
  if (start === 0 && end === values.length) return values;
  if (ArrayBuffer.isView(values)) return (values as unknown as Float64Array).subarray(start, end);
  return (values as unknown[]).slice(start, end);
}

function valueType(e: SchemaElement): ValueType {
  const logical = e.logical_type?.type;
  if (logical === "TIMESTAMP") {
    return e.logical_type && "isAdjustedToUTC" in e.logical_type && e.logical_type.isAdjustedToUTC
      ? "timestamptz"
      : "timestamp";
  }
  if (e.converted_type === "TIMESTAMP_MICROS" || e.converted_type === "TIMESTAMP_MILLIS") return "timestamptz";
  if (logical === "DATE" || e.converted_type === "DATE") return "date";
  if (logical === "STRING" || e.converted_type === "UTF8" || logical === "ENUM" || logical === "UUID") return "string";
  if (logical === "DECIMAL" || e.converted_type === "DECIMAL") return "float64";
  if (logical === "NULL") return "string";
  switch (e.type) {
    case "BOOLEAN":
      return "bool";
    case "INT32":
      return "int32";
    case "INT64":
      return "int64";
    case "FLOAT":
      return "float32";
    case "DOUBLE":
      return "float64";
    case "BYTE_ARRAY":
    case "FIXED_LEN_BYTE_ARRAY":
      return "string";
    default:
      return "json";
  }
}
