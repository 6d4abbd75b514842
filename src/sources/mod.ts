/**
 * Sources: where rows come from (Parquet, CSV, JSON lines, a Postgres query
 * or table), each read as batches of columns. They never see the model.
 *
 * @example
 * ```ts
 * import { openSource } from "./src/sources/mod.ts";
 * const source = await openSource("rides.parquet");
 * ```
 */
export { openSource, type PreparedSource, prepareSource } from "./open_source.ts";
export type { NumberType, Source } from "./source.ts";
