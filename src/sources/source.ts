/**
 * What every source gives the batch pipeline: its columns, then batches of
 * rows as columns, read lazily so memory stays bounded.
 */
import type { ColumnInfo, RowBatch } from "../rows.ts";

/** Number types a reader of text may give a column in. */
export type NumberType = "float64" | "float32" | "int64" | "int32";

/** How to read batches. */
export interface ReadOptions {
  /** Rows per batch. */
  batchSize: number;
  /** Only these columns (all when unset): Parquet and Postgres read no others. */
  columns?: string[];
  /**
   * Columns the caller will coerce to these number types (a model's inputs). A reader of text (CSV) may give such
   * a column's plain numbers as numbers, in a typed array when every value is one, and leaves any other value as
   * its text. Readers of typed data ignore it.
   */
  numbers?: Record<string, NumberType>;
}

/** A readable table of rows. */
export interface Source {
  /** Where the rows come from, safe to log (no secrets). */
  readonly description: string;
  /** The columns a row has, known before any row is read. */
  readonly columns: ColumnInfo[];
  /** How far reading has come, in rows or bytes, when the total is known. */
  progress?(): { done: number; total: number };
  /** The rows, in order, in batches of at most `batchSize`. */
  batches(options: ReadOptions): AsyncIterable<RowBatch>;
  close(): Promise<void>;
}
