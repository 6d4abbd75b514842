/**
 * What every sink offers the batch pipeline. Nothing written is visible
 * under the final name (file) or committed (database) before `commit`.
 */
import type { ColumnInfo, RowBatch } from "../rows.ts";

/** A place predictions (or rejected rows) are written to. */
export interface Sink {
  /** Where rows go, safe to log (no secrets). */
  readonly description: string;
  /** Called once, before any write, with the columns every batch will have. */
  open(columns: ColumnInfo[]): Promise<void>;
  write(batch: RowBatch): Promise<void>;
  /** Makes everything written visible at once. */
  commit(): Promise<void>;
  /** Drops everything written; safe to call after a failed open or write. */
  abort(): Promise<void>;
}

/** What the caller knows of what will be written, for a sink to prepare by. */
export interface SinkExpectations {
  /** Many rows (a large input): a CSV file's writer worker starts at open, not with the first rows past a few. */
  manyRows?: boolean;
}
