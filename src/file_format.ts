/**
 * The file formats `score` reads and writes, told by name or extension.
 */
import { UsageError } from "./errors.ts";

/** The file formats we read and write. */
export const FILE_FORMATS = ["parquet", "csv", "jsonl"] as const;
export type FileFormat = typeof FILE_FORMATS[number];

/**
 * The format of `path`: `format` when given, else from its extension;
 * `what` names the setting in errors (the caller's flag).
 *
 * @example
 * ```ts
 * fileFormat("rides.parquet"); // "parquet"
 * ```
 */
export function fileFormat(path: string, format?: string, what = "format"): FileFormat {
  if (format !== undefined) {
    if ((FILE_FORMATS as readonly string[]).includes(format)) return format as FileFormat;
    throw new UsageError(`Unknown format "${format}" for ${what}: use one of ${FILE_FORMATS.join(", ")}`);
  }
  const ext = path.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1];
  if (ext === "parquet" || ext === "pq") return "parquet";
  if (ext === "csv") return "csv";
  // The JSON reader takes JSON lines or one JSON array of objects.
  if (ext === "jsonl" || ext === "ndjson" || ext === "json") return "jsonl";
  throw new UsageError(
    `Cannot tell the format of "${path}" from its extension: name it .parquet, .csv, .jsonl or .json, or pass ${what}`,
  );
}
