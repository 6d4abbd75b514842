/**
 * `@duckdb/node-api` and the C API binding under it, loaded by duckdb.ts on
 * first use only (see src/lazy_import.ts): a job that reads and writes no
 * file never loads DuckDB's library.
 */
import bindings from "@duckdb/node-bindings";

export * from "@duckdb/node-api";
// A CommonJS module: its functions are its default export.
export { bindings };
