/** A sink that keeps nothing: for a job run for what it observes on the way (`score profile`). */
import type { ColumnInfo, RowBatch } from "../rows.ts";
import type { Sink } from "./sink.ts";

/**
 * Drops every batch written.
 *
 * @example
 * ```ts
 * await runBatch({ model, source, sink: new DiscardSink(), batchSize: 10_000, onScored: (b, p) => profile(b, p) });
 * ```
 */
export class DiscardSink implements Sink {
  readonly description = "nowhere (discarded)";
  open(_columns: ColumnInfo[]): Promise<void> {
    return Promise.resolve();
  }
  write(_batch: RowBatch): Promise<void> {
    return Promise.resolve();
  }
  commit(): Promise<void> {
    return Promise.resolve();
  }
  abort(): Promise<void> {
    return Promise.resolve();
  }
}
