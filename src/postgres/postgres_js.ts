/**
 * postgres.js, loaded by `connectPostgres` only when a job or the
 * prediction log connects (see src/lazy_import.ts), and the client type
 * every file of this folder speaks of (a type import loads nothing).
 */
import type postgres from "postgres";

export { default } from "postgres";

/** A postgres.js client. */
export type Sql = postgres.Sql<{ bigint: bigint }>;
