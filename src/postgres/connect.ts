/**
 * The one place score connects to Postgres: where the connection comes
 * from (a URL, `DATABASE_URL`, the `PG*` variables), a few retries with
 * backoff while the server is not up yet, and errors that name host, port
 * and database but never the password. Sources, sinks, the rejects table
 * and `score serve --log-predictions` all connect through here.
 */
import { connect as netConnect, type Socket } from "node:net";
import { lazyImport } from "../lazy_import.ts";
import type * as PostgresJs from "./postgres_js.ts";
import type { Sql } from "./postgres_js.ts";
import { log } from "../log.ts";
import { pgDate, pgTimestamp } from "../timestamps.ts";
import { jsonText, parseJson } from "../value_codec.ts";
import { pgError } from "./pg_error.ts";
import { ignoreUnawaitedLosses, nullableArrays, reserveConnection } from "./postgres_js_internals.ts";
import { isPostgresUrl, type PgTarget, resolveTarget } from "./postgres_url.ts";

export { isPostgresUrl, type PgTarget, resolveTarget, type Sql };

/** How to connect. */
export interface ConnectOptions {
  /** Connections in the pool; sources and sinks need one. */
  max?: number;
  /** Attempts after the first on a transient failure (refused, timeout, starting up). */
  retries?: number;
  /** First backoff delay; each retry doubles it. */
  retryDelayMs?: number;
  /** Seconds to wait for one connection attempt. */
  connectTimeout?: number;
  /** `application_name`, seen in `pg_stat_activity`. */
  applicationName?: string;
}

/** An open, checked connection pool and where it goes. */
export interface PgConnection {
  sql: Sql;
  target: PgTarget;
  /**
   * Calls `listener` each time a connection of the pool drops without
   * `close` (Postgres restarted, the network went away), with an error
   * coded `CONNECTION_CLOSED` that {@linkcode pgError} maps to exit 69.
   * Returns a function that stops listening.
   */
  onLoss(listener: (err: Error) => void): () => void;
  /**
   * `work`, or its rejection as soon as a connection of the pool drops:
   * postgres.js leaves some waits unsettled when the socket goes away
   * mid-COPY, so every wait of a one-connection pool goes through here.
   */
  guard<T>(work: Promise<T>): Promise<T>;
  /**
   * Runs `work` in a transaction on a connection of the pool held for it:
   * committed when `work` resolves, rolled back when it throws. Every
   * statement goes through `run`, which sends nothing once the connection
   * dropped (postgres.js's `sql.begin` sends its rollback on the dead
   * connection, which throws where nothing can catch it).
   */
  transaction<T>(work: (run: RunStatement) => Promise<T>): Promise<T>;
  /** Ends the pool, waiting at most `timeoutSeconds` (default 5, 0 after a drop) for queries in flight. */
  close(timeoutSeconds?: number): Promise<void>;
}

/** Runs one statement (`$1, $2, ...` bound to `params`) and returns its rows. */
export type RunStatement = (query: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

/**
 * Connects and checks the connection with `select 1`, retrying transient
 * failures with exponential backoff. Failures become our errors:
 * unreachable -> `UnavailableError`, bad credentials -> `AuthError`, no
 * such database -> `NotFoundError`.
 *
 * @example
 * ```ts
 * const { sql, close } = await connectPostgres("postgres://postgres@127.0.0.1:5432/test");
 * await sql`select 1`;
 * await close();
 * ```
 */
export async function connectPostgres(url?: string, options: ConnectOptions = {}): Promise<PgConnection> {
  const target = resolveTarget(url);
  ignoreUnawaitedLosses(logIgnoredLoss);
  const { default: postgres } = await lazyImport<typeof PostgresJs>(new URL("./postgres_js.ts", import.meta.url));
  const retries = options.retries ?? 4;
  const delay = options.retryDelayMs ?? 250;
  for (let attempt = 0;; attempt++) {
    const losses = new Set<(err: Error) => void>();
    let closing = false;
    let dropped = false;
    const lost = (err: Error) => {
      if (closing) return;
      dropped = true;
      for (const listener of [...losses]) listener(err);
    };
    // A socket error comes before its close, and postgres.js fails the query in flight at once: a close called
    // then must not wait for that connection either.
    const broken = () => dropped = true;
    const config = {
      host: target.host,
      port: target.port,
      database: target.database,
      username: target.user,
      password: target.password,
      ssl: target.ssl as never,
      max: options.max ?? 1,
      connect_timeout: options.connectTimeout ?? 10,
      idle_timeout: 0,
      // A connection is not recycled under a transaction; TCP keep-alive finds a peer that went silent.
      max_lifetime: 0,
      keep_alive: KEEP_ALIVE_SECONDS,
      onnotice: () => {},
      socket: () => openSocket(target, lost, broken),
      connection: { application_name: options.applicationName ?? "score", TimeZone: "UTC" },
      types: {
        // int8 as bigint, not string; naive timestamps read as UTC wall time, not local time.
        bigint: postgres.BigInt,
        naiveTimestamp: {
          to: 1114,
          from: [1114],
          serialize: (
            x: unknown,
          ) => (x instanceof Date ? x.toISOString().replace("T", " ").replace("Z", "") : String(x)),
          // A Date where one holds the value; microseconds, infinity and years before 1 as text (timestamps.ts).
          parse: (x: string) => pgTimestamp(x, false),
        },
        date: {
          to: 1082,
          from: [1082],
          serialize: (x: unknown) => (x instanceof Date ? x.toISOString().slice(0, 10) : String(x)),
          parse: pgDate,
        },
        zonedTimestamp: {
          to: 1184,
          from: [1184],
          serialize: (x: unknown) => (x instanceof Date ? x.toISOString() : String(x)),
          parse: (x: string) => pgTimestamp(x, true),
        },
        // json and jsonb with integers beyond 2^53 exact (value_codec.ts), where postgres.js's JSON.parse rounds them.
        exactJson: { to: 114, from: [114, 3802], serialize: jsonText, parse: parseJson },
      },
    };
    const sql = postgres(config as never) as unknown as Sql;
    try {
      await sql`select 1`;
      // The array types are fetched now: their NULL elements read as null, not "NULL".
      nullableArrays(sql);
      const onLoss = (listener: (err: Error) => void) => {
        losses.add(listener);
        return () => losses.delete(listener);
      };
      return {
        sql,
        target,
        onLoss,
        guard: <T>(work: Promise<T>) => guarded(work, onLoss),
        transaction: (work) => inTransaction(sql, onLoss, work),
        // After a drop nothing in flight will finish: no reason to wait for it.
        close: (timeoutSeconds = dropped ? 0 : 5) => {
          closing = true;
          return sql.end({ timeout: timeoutSeconds });
        },
      };
    } catch (err) {
      await sql.end({ timeout: 0 }).catch(() => {});
      const failure = pgError(err, target);
      if (failure.name !== "UnavailableError" || attempt >= retries) throw failure;
      await new Promise((r) => setTimeout(r, delay * 2 ** attempt));
    }
  }
}

function logIgnoredLoss(err: Error) {
  log.debug("postgres: a query nobody awaited failed with its lost connection", { error: err.message });
}

/** Seconds of silence before TCP probes a connection. */
const KEEP_ALIVE_SECONDS = 10;

function guarded<T>(work: Promise<T>, onLoss: PgConnection["onLoss"]): Promise<T> {
  let stop = () => {};
  const lost = new Promise<never>((_, reject) => stop = onLoss(reject));
  return Promise.race([work, lost]).finally(stop);
}

async function inTransaction<T>(
  sql: Sql,
  onLoss: PgConnection["onLoss"],
  work: (run: RunStatement) => Promise<T>,
): Promise<T> {
  let lost: Error | undefined;
  const stop = onLoss((err) => lost ??= err);
  try {
    const tx = await guarded(reserveConnection(sql), onLoss);
    const run: RunStatement = (query, params = []) =>
      lost
        ? Promise.reject(lost)
        : guarded(tx.unsafe(query, params as never[]) as unknown as Promise<Record<string, unknown>[]>, onLoss);
    try {
      await run("begin");
      const result = await work(run);
      await run("commit");
      return result;
    } catch (err) {
      if (!lost) await run("rollback").catch(() => {});
      throw err;
    } finally {
      if (!lost) tx.release();
    }
  } finally {
    stop();
  }
}

// Our own socket to turn Nagle off (postgres.js sends COPY's data and its
// CopyDone in two writes, and Nagle holds the small second one until the
// first is acknowledged, ~40 ms per batch) and to see it close: a drop in
// the middle of a COPY or under a reserved connection is not always
// reported to the caller by postgres.js. It is handed over before it
// connects, as postgres.js's own socket is: a refused or timed-out connect
// then reaches postgres.js as the socket's error and close, which return the
// connection to the pool. A socket factory that rejects instead leaves the
// connection "connecting" for good, and every later query of the pool waits
// forever (postgres.js 3.4; pinned in tests/postgres/connection_loss_test.ts).
// The connect timeout is postgres.js's (`connect_timeout`).
function openSocket(target: PgTarget, lost: (err: Error) => void, broken: () => void): Socket {
  const socket = netConnect({ host: target.host, port: target.port });
  socket.setNoDelay(true);
  // postgres.js names the server in its errors (a connect timeout) from these, as on a socket of its own.
  Object.assign(socket, { host: target.host, port: target.port });
  let connected = false;
  let cause: Error | undefined;
  socket.once("connect", () => connected = true);
  socket.on("error", (err) => {
    cause ??= err;
    if (connected) broken();
  });
  socket.once("close", () => {
    if (!connected) return;
    const why = cause ? `connection lost (${cause.message})` : "connection lost";
    lost(Object.assign(new Error(why), { code: "CONNECTION_CLOSED", cause }));
  });
  return socket;
}
