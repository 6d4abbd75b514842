/**
 * DuckDB, embedded: the database the file reader and the Parquet writer
 * open (its library loaded on first use), SQL quoting, and a result's
 * columns out of it, and into an appender, as typed arrays.
 *
 * @example
 * ```ts
 * import { openDuckDB, streamColumns } from "./src/duckdb/mod.ts";
 * const db = await openDuckDB();
 * for await (const chunk of streamColumns(db.connection, "select 1.5 as x")) chunk.columns[0]; // Float64Array [1.5]
 * await db.close();
 * ```
 */
export { busy, describe, type DuckDB, openDuckDB, preloadDuckDB, sqlName, sqlString } from "./duckdb.ts";
export { appendColumns, type ColumnChunk, type ColumnType, streamColumns } from "./duckdb_columns.ts";
