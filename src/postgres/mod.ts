/**
 * Postgres: connections (URL, `DATABASE_URL`, `PG*`), identifier quoting,
 * COPY, the shared transaction of a batch window, shards, types and errors.
 *
 * @example
 * ```ts
 * import { connectPostgres } from "./src/postgres/mod.ts";
 * const pg = await connectPostgres("postgres://postgres@127.0.0.1:5432/test");
 * ```
 */
export {
  type ConnectOptions,
  connectPostgres,
  isPostgresUrl,
  type PgConnection,
  resolveTarget,
  type Sql,
} from "./connect.ts";
export { copyEncoder, openCopy } from "./copy_rows.ts";
export { quoteIdent, quoteTable } from "./identifier.ts";
export { pgError } from "./pg_error.ts";
export { PgTransaction } from "./pg_transaction.ts";
export { pgTypeOf, valueTypeOfOid } from "./pg_types.ts";
export { parseShard, type Shard, shardCondition, type ShardLabels } from "./shard.ts";
