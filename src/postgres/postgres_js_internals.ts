/**
 * The two places score reaches past postgres.js's public API, in one file
 * so that an upgrade that moves them fails here, loudly, and in its pinning
 * test (tests/postgres/postgres_js_internals_test.ts), not as a hang:
 *
 * - a COPY FROM STDIN's query settles when the COPY starts; an error
 *   response after that (a value a column cannot take) only reaches the
 *   query's internal `reject`, which {@linkcode onLateQueryError} wraps;
 * - `sql.reserve()` is typed as a `ReservedSql` whose `unsafe` and
 *   `release` score uses as a plain `Sql` with a `release`:
 *   {@linkcode reserveConnection} does the cast once.
 */
import type { Sql } from "./connect.ts";

/** A postgres.js query (`sql.unsafe(...)`), before or after it started. */
type Query = ReturnType<Sql["unsafe"]>;

/**
 * Calls `listener` with any error the query meets after it settled (as
 * well as before), then lets postgres.js settle it as usual.
 *
 * @example
 * ```ts
 * const query = sql.unsafe("copy t (a) from stdin");
 * const stream = await query.writable();
 * onLateQueryError(query, (err) => (failure ??= err));
 * ```
 */
export function onLateQueryError(query: Query, listener: (err: unknown) => void): void {
  const q = query as unknown as { reject?: (err: unknown) => void };
  const settle = q.reject;
  if (typeof settle !== "function") {
    throw new Error("postgres.js: a query has no reject() to hook any more; see src/postgres/postgres_js_internals.ts");
  }
  q.reject = (err) => {
    listener(err);
    settle.call(query, err);
  };
}

/** A connection of the pool held for one caller (a transaction) until `release`. */
export type ReservedConnection = Sql & { release(): void };

/**
 * Reserves one connection of the pool.
 *
 * @example
 * ```ts
 * const tx = await reserveConnection(sql);
 * await tx.unsafe("begin");
 * tx.release();
 * ```
 */
export async function reserveConnection(sql: Sql): Promise<ReservedConnection> {
  return await sql.reserve() as unknown as ReservedConnection;
}
