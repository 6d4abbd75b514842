/**
 * The three places score reaches past postgres.js's public API, in one file
 * so that an upgrade that moves them fails here, loudly, and in its pinning
 * test (tests/postgres/postgres_js_internals_test.ts), not as a hang:
 *
 * - a cursor's iterator reports `done` once its query is settled, whether
 *   the server sent the last row or the connection was lost while the
 *   caller held a batch (the loss then rejects a promise nobody awaits):
 *   {@linkcode checkedCursor} tells the two apart by the query's
 *   settlement, which it hooks;
 * - a COPY FROM STDIN's query settles when the COPY starts; an error
 *   response after that (a value a column cannot take) only reaches the
 *   query's internal `reject`, which {@linkcode onLateQueryError} wraps;
 * - `sql.reserve()` is typed as a `ReservedSql` whose `unsafe` and
 *   `release` score uses as a plain `Sql` with a `release`:
 *   {@linkcode reserveConnection} does the cast once;
 * - a new connection fetches the server's array types in a promise nobody
 *   awaits: a connection lost meanwhile rejects it unhandled, which would
 *   end the process with a stack trace; {@linkcode ignoreUnawaitedLosses}
 *   keeps such losses (which reach the query waiting for the connection)
 *   from doing so;
 * - its array parser reads a NULL element as the text "NULL" (or the
 *   element parser's value of it: NaN for an int4[]): {@linkcode nullableArrays}
 *   puts a parser that knows NULL (postgres-array's) in its place, for each
 *   array type it fetched.
 */
import { parse as parseArray } from "postgres-array";
import type { Sql } from "./postgres_js.ts";

const HERE = "src/postgres/postgres_js_internals.ts";

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
    throw new Error("postgres.js: a query has no reject() to hook any more; see " + HERE);
  }
  q.reject = (err) => {
    listener(err);
    settle.call(query, err);
  };
}

/**
 * Reads `query` through a cursor of `rows` rows at a time, ending (`done`)
 * only when the server said the rows are all sent (its CommandComplete);
 * a query that failed or lost its connection at any point, even between
 * two reads, rejects the next read with that error. A caller that stops
 * early calls `return`, as `for await` does.
 *
 * @example
 * ```ts
 * const rows = checkedCursor<unknown[]>(sql.unsafe("select * from rides").values(), 10_000);
 * for (let r = await rows.next(); !r.done; r = await rows.next()) console.log(r.value.length);
 * ```
 */
export function checkedCursor<T>(query: CursorQuery, rows: number): AsyncIterator<T[], undefined> {
  const inner = (query.cursor(rows) as AsyncIterable<T[]>)[Symbol.asyncIterator]();
  const q = query as unknown as Settle;
  let completed = false;
  let failure: unknown;
  let hooked: Settle["resolve"] | undefined;
  // Each read binds the query's resolve and reject afresh (to settle that read): hook the pair it bound.
  const hook = () => {
    const { resolve, reject } = q;
    if (resolve === hooked) return;
    if (typeof resolve !== "function" || typeof reject !== "function") {
      throw new Error("postgres.js: a cursor has no resolve()/reject() to hook any more; see " + HERE);
    }
    // The query resolves with its result, whose `command` only the server's CommandComplete sets
    // (a portal closed early resolves too, without one).
    hooked = q.resolve = (result) => {
      if ((result as { command?: unknown } | undefined)?.command) completed = true;
      resolve.call(query, result);
    };
    q.reject = (err) => {
      failure ??= err;
      reject.call(query, err);
    };
  };
  return {
    async next() {
      const read = inner.next();
      hook();
      const step = await read;
      if (!step.done) return step;
      if (completed) return { done: true, value: undefined };
      throw failure ?? Object.assign(new Error("connection lost before the last row"), { code: "CONNECTION_CLOSED" });
    },
    async return() {
      // A settled query has no portal left to close, and after a loss postgres.js would write on no socket.
      if (!completed && failure === undefined) await inner.return?.();
      return { done: true, value: undefined };
    },
  };
}

/** A query not started yet that can be read through a cursor (`sql.unsafe(...)`, `.values()`). */
type CursorQuery = { cursor(rows?: number): AsyncIterable<unknown> };

/** How postgres.js settles a query (rebound by each read of a cursor). */
interface Settle {
  resolve?: (result: unknown) => void;
  reject?: (err: unknown) => void;
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

/**
 * From now on, an unhandled rejection that postgres.js made (it gives the
 * error the query's text and parameters) for a lost connection is passed
 * to `onIgnored` (each listener once, however often it is added) instead
 * of ending the process. Any other unhandled rejection still does. Returns
 * a function that removes the listener (the rejections stay ignored).
 *
 * @example
 * ```ts
 * ignoreUnawaitedLosses((err) => log.debug("a lost connection's unawaited query", { error: String(err) }));
 * ```
 */
export function ignoreUnawaitedLosses(onIgnored: (err: Error) => void = () => {}): () => void {
  if (ignored.size === 0 && !ignoring) {
    ignoring = true;
    globalThis.addEventListener("unhandledrejection", (event) => {
      if (!isLossOfPostgresJs(event.reason)) return;
      event.preventDefault();
      for (const listener of [...ignored]) listener(event.reason);
    });
  }
  ignored.add(onIgnored);
  return () => ignored.delete(onIgnored);
}

let ignoring = false;
const ignored = new Set<(err: Error) => void>();

/** Socket and postgres.js codes of a connection that went away; SQLSTATE 08 and 57P0x are the server's. */
const LOSS_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
]);

function isLossOfPostgresJs(reason: unknown): reason is Error {
  if (!(reason instanceof Error) || !("query" in reason && "parameters" in reason)) return false;
  const code = String((reason as { code?: unknown }).code ?? "");
  return LOSS_CODES.has(code) || code.startsWith("08") || code.startsWith("57P0");
}

/** What of postgres.js's options {@linkcode nullableArrays} reads and writes. */
interface ArrayOptions {
  parsers?: Record<number, ((x: string) => unknown) & { array?: boolean }>;
  shared?: { typeArrayMap?: Record<number, number> };
}

/** The array type whose elements are separated by `;`, not `,` (box[]): left to postgres.js. */
const BOX_ARRAY = 1020;

/**
 * Makes `sql` read a NULL element of an array as null, for every array type
 * it has fetched (call it after a first query: types are fetched with the
 * first connection, and kept for the next ones).
 *
 * @example
 * ```ts
 * await sql`select 1`;
 * nullableArrays(sql);
 * await sql`select '{a,NULL}'::text[] as t`; // [{ t: ["a", null] }]
 * ```
 */
export function nullableArrays(sql: Sql): void {
  const options = (sql as unknown as { options?: ArrayOptions }).options;
  const parsers = options?.parsers;
  const arrays = options?.shared?.typeArrayMap;
  if (parsers === undefined || arrays === undefined || Object.keys(arrays).length === 0) {
    throw new Error("postgres.js: no fetched array types in sql.options any more; see " + HERE);
  }
  for (const [element, array] of Object.entries(arrays)) {
    if (array === BOX_ARRAY || !parsers[array]?.array) continue;
    const parseElement = parsers[Number(element)];
    // postgres.js hands an array parser its text without the opening brace.
    const parser = parseElement === undefined
      ? (x: string) => parseArray("{" + x)
      : (x: string) => parseArray("{" + x, (e: string) => parseElement(e));
    parsers[array] = Object.assign(parser, { array: true });
  }
}
