/**
 * Sharding a query in Postgres: shard K of N keeps the rows whose key
 * hashes to K-1 modulo N, so N jobs split the same rows with no overlap
 * and no gap (a NULL key hashes like the empty string, so it is not lost).
 */
import { UsageError } from "../errors.ts";
import { quoteIdent } from "./identifier.ts";

/** Shard `index` (1-based) of `count`, split on column `key`. */
export interface Shard {
  index: number;
  count: number;
  key: string;
}

/** How errors name the shard and its key (the caller's flags). */
export interface ShardLabels {
  shard: string;
  key: string;
}

/**
 * Parses `K/N` (1 <= K <= N).
 *
 * @example
 * ```ts
 * parseShard("2/4", "ride_id"); // { index: 2, count: 4, key: "ride_id" }
 * ```
 */
export function parseShard(
  text: string,
  key: string | undefined,
  what: ShardLabels = { shard: "shard", key: "shard key" },
): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) {
    throw new UsageError(`${what.shard} "${text}" is not of the form K/N with 1 <= K <= N (e.g. 1/4)`);
  }
  if (!key) throw new UsageError(`${what.shard} needs ${what.key} COLUMN: the column whose hash picks the shard`);
  return { index, count, key };
}

/**
 * The condition a row must meet to be in `shard`, given the SQL text of
 * its key (default: column `shard.key` of alias `alias`, as text).
 *
 * @example
 * ```ts
 * shardCondition({ index: 1, count: 2, key: "id" }, "q");
 * // mod(abs(hashtext(coalesce(q."id"::text, ''))::int8), 2) = 0
 * ```
 */
export function shardCondition(shard: Shard, alias: string, keyText?: string): string {
  const key = keyText ?? `${alias}.${quoteIdent(shard.key, "shard key")}::text`;
  // int8 before abs: abs(-2147483648::int4) overflows.
  return `mod(abs(hashtext(coalesce(${key}, ''))::int8), ${shard.count}) = ${shard.index - 1}`;
}
