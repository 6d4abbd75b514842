/**
 * Identifier quoting, in one place. Names from the command line (tables,
 * columns, the shard key) are always quoted; a name that could break out
 * of quoting is refused rather than escaped, so what the user typed is
 * exactly what Postgres sees.
 */
import { UsageError } from "../errors.ts";

const MAX_BYTES = 63;

/**
 * Quotes one identifier: `trip distance` -> `"trip distance"`. Refuses an
 * empty name, a double quote, a NUL or control character, and names longer
 * than Postgres keeps (63 bytes).
 *
 * @example
 * ```ts
 * quoteIdent("PULocationID"); // "\"PULocationID\""
 * ```
 */
export function quoteIdent(name: string, what = "name"): string {
  if (name === "") throw new UsageError(`The ${what} is empty`);
  // deno-lint-ignore no-control-regex
  if (/["\u0000-\u001f\u007f]/.test(name)) {
    throw new UsageError(
      `The ${what} ${JSON.stringify(name)} is refused: it holds a double quote or a control character`,
    );
  }
  if (new TextEncoder().encode(name).length > MAX_BYTES) {
    throw new UsageError(`The ${what} ${JSON.stringify(name)} is longer than Postgres's ${MAX_BYTES} bytes`);
  }
  return `"${name}"`;
}

/**
 * Quotes a table name, optionally schema-qualified: `analytics.preds` ->
 * `"analytics"."preds"`. A dot always separates schema and table; names
 * are case-sensitive as typed.
 *
 * @example
 * ```ts
 * quoteTable("analytics.ride_predictions"); // "\"analytics\".\"ride_predictions\""
 * ```
 */
export function quoteTable(name: string, what = "table name"): string {
  const parts = name.split(".");
  if (parts.length > 2) {
    throw new UsageError(`The ${what} ${JSON.stringify(name)} has more than one dot (use schema.table)`);
  }
  return parts.map((p) => quoteIdent(p, what)).join(".");
}
