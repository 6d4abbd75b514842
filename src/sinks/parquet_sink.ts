/**
 * Writes rows as Parquet (SNAPPY), one row group per `rowGroupSize` rows,
 * through a temporary file. Column types follow the source's: timestamps
 * stay timestamps, int64 stays int64.
 */
import { ByteWriter, ParquetWriter } from "hyparquet-writer";
import type { SchemaElement } from "hyparquet";
import type { ColumnInfo, RowBatch, ValueType } from "../rows.ts";
import { type AtomicFile, createAtomicFile } from "./atomic_file.ts";
import { jsonSafe } from "./cell.ts";
import type { Sink } from "./sink.ts";

/**
 * A Parquet file sink. Rows are buffered up to a row group, so memory is
 * bounded by `rowGroupSize`.
 *
 * @example
 * ```ts
 * const sink = createParquetSink("predictions.parquet", { rowGroupSize: 100_000 });
 * ```
 */
export function createParquetSink(path: string, options: { rowGroupSize?: number } = {}): Sink {
  const rowGroupSize = options.rowGroupSize ?? 100_000;
  let out: AtomicFile | undefined;
  let writer: ParquetWriter | undefined;
  let bytes: ByteWriter | undefined;
  let columns: ColumnInfo[] = [];
  // Batches are kept as they come and joined once per row group: typed arrays stay typed (no boxed values).
  let chunks: ArrayLike<unknown>[][] = [];
  let bufferedRows = 0;

  const flushBytes = () => {
    if (bytes!.index > 0) {
      out!.file.writeSync(new Uint8Array(bytes!.buffer, 0, bytes!.index));
      bytes!.index = 0;
    }
  };
  const flushGroup = () => {
    if (bufferedRows === 0) return;
    writer!.write({
      columnData: columns.map((c, i) => ({ name: c.name, data: joined(chunks[i], c.type, bufferedRows) as never })),
      rowGroupSize: bufferedRows,
    });
    chunks = columns.map(() => []);
    bufferedRows = 0;
  };

  return {
    description: path,
    async open(cols) {
      columns = cols;
      chunks = columns.map(() => []);
      out = await createAtomicFile(path);
      bytes = new ByteWriter();
      // Stream to disk: empty the buffer whenever it passes 1 MB instead of growing it.
      const ensure = bytes.ensure.bind(bytes);
      bytes.ensure = (size: number) => {
        if (bytes!.index > 1_000_000) flushBytes();
        ensure(size);
      };
      bytes.finish = flushBytes;
      writer = new ParquetWriter({ writer: bytes, schema: schemaOf(columns) });
    },
    write(batch: RowBatch) {
      for (let i = 0; i < columns.length; i++) chunks[i].push(batch.columns[columns[i].name]);
      bufferedRows += batch.length;
      if (bufferedRows >= rowGroupSize) flushGroup();
      return Promise.resolve();
    },
    async commit() {
      flushGroup();
      writer!.finish();
      flushBytes();
      await out!.commit();
    },
    abort: async () => await out?.abort(),
  };
}

/** The typed array a column of this type may be written from as it is. */
const TYPED: Partial<Record<ValueType, new (n: number) => Float64Array | Float32Array | Int32Array>> = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
};

/** One row group's column from its chunks: a typed array when every chunk is one, else converted values. */
function joined(parts: ArrayLike<unknown>[], type: ValueType, rows: number): ArrayLike<unknown> {
  const Typed = TYPED[type];
  if (Typed && parts.every((p) => p instanceof Typed)) {
    const out = new Typed(rows);
    let at = 0;
    for (const p of parts) {
      out.set(p as Float64Array, at);
      at += p.length;
    }
    return out;
  }
  const convert = converter(type);
  const out = new Array<unknown>(rows);
  let at = 0;
  for (const p of parts) for (let r = 0; r < p.length; r++) out[at++] = convert(p[r]);
  return out;
}

function converter(type: ValueType): (v: unknown) => unknown {
  const orNull = (f: (v: unknown) => unknown) => (v: unknown) => (v === null || v === undefined ? null : f(v));
  switch (type) {
    case "bool":
      return orNull((v) => (typeof v === "string" ? v === "true" : Boolean(v)));
    case "int64":
    case "uint64":
      return orNull((v) => (typeof v === "bigint" ? v : BigInt(v as number)));
    case "json":
      return orNull((v) => (typeof v === "string" ? v : JSON.stringify(v, jsonSafe)));
    case "string":
      return orNull((v) => (typeof v === "string" ? v : v instanceof Date ? v.toISOString() : String(v)));
    default:
      return (v) => v ?? null;
  }
}

function schemaOf(columns: ColumnInfo[]): SchemaElement[] {
  const root: SchemaElement = { name: "root", num_children: columns.length };
  return [root, ...columns.map((c) => element(c.name, c.type))];
}

function element(name: string, type: ValueType): SchemaElement {
  const base = { name, repetition_type: "OPTIONAL" as const };
  switch (type) {
    case "float64":
      return { ...base, type: "DOUBLE" };
    case "float32":
      return { ...base, type: "FLOAT" };
    case "int64":
    case "uint64":
      return { ...base, type: "INT64" };
    case "int8":
    case "int16":
    case "int32":
    case "uint8":
    case "uint16":
    case "uint32":
      return { ...base, type: "INT32" };
    case "bool":
      return { ...base, type: "BOOLEAN" };
    case "timestamp":
    case "timestamptz":
      return {
        ...base,
        type: "INT64",
        converted_type: "TIMESTAMP_MICROS",
        logical_type: { type: "TIMESTAMP", isAdjustedToUTC: type === "timestamptz", unit: "MICROS" },
      };
    case "date":
      return { ...base, type: "INT32", converted_type: "DATE", logical_type: { type: "DATE" } };
    case "json":
    case "string":
      return { ...base, type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" } };
  }
}
