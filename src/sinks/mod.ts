/**
 * Sinks: where predictions go (Parquet, CSV, JSON lines, a Postgres table),
 * and the JSON form of a scored row that answers and events share.
 *
 * @example
 * ```ts
 * import { createSink } from "./src/sinks/mod.ts";
 * const sink = await createSink("predictions.parquet");
 * ```
 */
export { checkTarget, createSink } from "./create_sink.ts";
export { DiscardSink } from "./discard_sink.ts";
export type { Replace } from "./postgres_sink.ts";
export type { Sink, SinkExpectations } from "./sink.ts";
export { writeAll } from "./write_all.ts";
export { writeWhole } from "./write_whole.ts";
