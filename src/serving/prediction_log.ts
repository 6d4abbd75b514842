/**
 * The prediction log of `score serve --log-predictions`: every scored row
 * (features, outputs, model version, request id) is written to a Postgres
 * table in the background with `COPY ... FROM STDIN`, in batches.
 *
 * It sits off the response path: `write` only pushes onto a bounded
 * buffer. When the buffer is full, or a COPY fails, records are dropped and
 * counted, never waited for, so the log can neither slow nor fail a
 * response. While Postgres is away records wait in the buffer (up to its
 * cap) and the writer reconnects with backoff.
 */
import { settleWithin } from "../abortable.ts";
import { describeError, UsageError } from "../errors.ts";
import { log } from "../log.ts";
import { connectPostgres, copyEncoder, openCopy, type PgConnection, pgError, quoteTable } from "../postgres/mod.ts";
import type { ColumnInfo, RowBatch } from "../rows.ts";

/** One scored row. */
export interface LoggedPrediction {
  time: Date;
  requestId: string;
  model: string;
  modelVersion: string;
  features: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** Buffering limits and bounds on the waits. */
export interface PredictionLogOptions {
  /** How errors name the log's URL (the caller's setting, e.g. its flag); "the prediction log URL" by default. */
  what?: string;
  /** Most records held waiting (default 100,000); past it they are dropped. */
  bufferRows?: number;
  /** Most records per COPY (default 10,000). */
  batchRows?: number;
  /** How long records may wait for company before a COPY (default 200 ms). */
  flushMs?: number;
  /** Longest one COPY may take before its connection is taken for lost (default 30 s). */
  copyTimeoutMs?: number;
  /** Longest pause between two attempts to reconnect while Postgres is away (default 5 s; the first is 100 ms). */
  maxBackoffMs?: number;
}

const DEFAULT_WHAT = "the prediction log URL";

/** `application_name` of the log's connection, seen in `pg_stat_activity`. */
const APPLICATION_NAME = "score serve predictions";

/** Seconds one reconnection attempt may take. */
const CONNECT_TIMEOUT_S = 5;

/** The first pause between reconnection attempts (the first attempt goes at once); it doubles up to the cap. */
const FIRST_BACKOFF_MS = 100;

/** Records serialized between two turns of the event loop. */
const SLICE_ROWS = 256;
/**
 * The most COPYs a batch refused for its data may take to find its odd records (each a COPY of log2(rows) halves):
 * a batch whose every record is refused (a column's type changed) is dropped after these, not in thousands.
 */
const SPLIT_COPIES = 64;

/** The same columns for the shared COPY encoder (which also makes NULs and lone surrogates U+FFFD). */
const COPY_COLUMNS: ColumnInfo[] = [
  { name: "logged_at", type: "timestamptz" },
  { name: "request_id", type: "string" },
  { name: "model", type: "string" },
  { name: "model_version", type: "string" },
  { name: "features", type: "json" },
  { name: "outputs", type: "json" },
];

function recordBatch(records: LoggedPrediction[]): RowBatch {
  return {
    offset: 0,
    length: records.length,
    columns: {
      logged_at: records.map((r) => r.time),
      request_id: records.map((r) => r.requestId),
      model: records.map((r) => r.model),
      model_version: records.map((r) => r.modelVersion),
      features: records.map((r) => r.features),
      outputs: records.map((r) => r.outputs),
    },
  };
}

/**
 * Splits `postgres://user@host:port/database/table` into the database URL
 * and the table (`schema.table` allowed).
 *
 * @example
 * ```ts
 * splitTableUrl("postgres://postgres@127.0.0.1:5432/test/predictions");
 * // { url: "postgres://postgres@127.0.0.1:5432/test", table: "predictions" }
 * ```
 */
export function splitTableUrl(text: string, what = DEFAULT_WHAT): { url: string; table: string } {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`${what} must be postgres://user@host:port/database/table`);
  }
  const parts = u.pathname.split("/").filter((p) => p !== "");
  if (!/^postgres(ql)?:$/i.test(u.protocol) || parts.length !== 2) {
    throw new UsageError(`${what} must be postgres://user@host:port/database/table (a database and a table)`);
  }
  const table = decodeURIComponent(parts[1]);
  u.pathname = `/${parts[0]}`;
  return { url: u.toString(), table };
}

/**
 * A background writer of predictions to one table, created if missing.
 * A lost connection (Postgres restarted, the backend killed, the network
 * gone silent) is dropped and a new one made, with backoff, while records
 * wait in the buffer; the loss and the return are logged once each.
 *
 * @example
 * ```ts
 * const predictions = await PredictionLog.open("postgres://postgres@127.0.0.1:5432/test/predictions");
 * predictions.write({ time: new Date(), requestId, model: "m", modelVersion: "1", features, outputs });
 * await predictions.close();
 * ```
 */
export class PredictionLog {
  readonly description: string;
  readonly #url: string;
  readonly #table: string;
  readonly #bufferRows: number;
  readonly #batchRows: number;
  readonly #flushMs: number;
  readonly #copyTimeoutMs: number;
  readonly #maxBackoffMs: number;
  readonly #encode = copyEncoder(COPY_COLUMNS);
  /** The connection; undefined while Postgres is away. */
  #pg: PgConnection | undefined;
  #unlisten = () => {};
  /** Fails the COPY in flight at once (its connection dropped, or close stopped waiting). */
  #abandon: ((err: unknown) => void) | undefined;
  /** Since when Postgres is away, and the drops counted before. */
  #outage: { since: number; dropped: number } | undefined;
  #buffer: LoggedPrediction[] = [];
  #written = 0;
  #dropped = 0;
  #closing = false;
  /** Aborted when close stops waiting: every wait of the writer ends then. */
  readonly #stop = new AbortController();
  #wake: (() => void) | undefined;
  #loop: Promise<void>;
  #lastWarning = 0;

  private constructor(url: string, pg: PgConnection, table: string, options: PredictionLogOptions) {
    this.#url = url;
    this.#table = table;
    this.description = `${pg.target.description}/${table}`;
    this.#bufferRows = options.bufferRows ?? 100_000;
    this.#batchRows = options.batchRows ?? 10_000;
    this.#flushMs = options.flushMs ?? 200;
    this.#copyTimeoutMs = options.copyTimeoutMs ?? 30_000;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.#adopt(pg);
    this.#loop = this.#run().catch((err) => {
      log.error("prediction log: the writer stopped", { table: this.description, error: describeError(err).message });
    });
  }

  /** Connects, creates the table if needed and starts the background writer. */
  static async open(text: string, options: PredictionLogOptions = {}): Promise<PredictionLog> {
    const { url, table } = splitTableUrl(text, options.what);
    const quoted = quoteTable(table, `${options.what ?? DEFAULT_WHAT} table`);
    const pg = await connectPostgres(url, { applicationName: APPLICATION_NAME });
    try {
      await pg.sql.unsafe(
        `create table if not exists ${quoted} (
           logged_at timestamptz not null,
           request_id text not null,
           model text not null,
           model_version text not null,
           features jsonb not null,
           outputs jsonb not null)`,
      );
    } catch (err) {
      await pg.close();
      throw err;
    }
    return new PredictionLog(url, pg, table, options);
  }

  /** Records written to Postgres so far. */
  get written(): number {
    return this.#written;
  }

  /** Records dropped so far: buffer full, a COPY that failed, or given up at close. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Records waiting in the buffer. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Queues one record; drops it (counted) when the buffer is full or the log is closing. */
  write(record: LoggedPrediction): void {
    if (this.#closing || this.#buffer.length >= this.#bufferRows) {
      this.#dropped++;
      return;
    }
    this.#buffer.push(record);
    if (this.#buffer.length >= this.#batchRows) this.#wake?.();
  }

  /**
   * Writes what is buffered (waiting at most `timeoutMs`, reconnecting if
   * need be), then disconnects. Past the wait, what is left is dropped,
   * counted, and the number logged.
   */
  async close(timeoutMs = 5000): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    const flushed = await settleWithin(this.#loop.then(() => true), timeoutMs);
    if (!flushed) {
      const before = this.#dropped;
      this.#stop.abort();
      // Every wait of the writer ends on the abort; the bound is for safety's sake.
      await settleWithin(this.#loop, 1000);
      const gaveUp = this.#dropped - before + this.#buffer.length;
      this.#dropped += this.#buffer.length;
      this.#buffer = [];
      log.warn("prediction log: gave up flushing on close", {
        table: this.description,
        timeout_ms: timeoutMs,
        gave_up: gaveUp,
        written: this.#written,
        dropped: this.#dropped,
        connected: this.#pg !== undefined,
      });
    }
    this.#unlisten();
    const pg = this.#pg;
    this.#pg = undefined;
    if (pg) await settleWithin(pg.close(flushed ? 1 : 0).catch(() => {}), 2000);
  }

  #adopt(pg: PgConnection) {
    this.#pg = pg;
    // A drop mid-COPY fails that COPY (which reports it); one while idle is reported here, when it happens.
    this.#unlisten = pg.onLoss((err) => this.#abandon ? this.#abandon(err) : this.#lost(pg, err, 0));
  }

  /** Lets go of `pg` after it failed (`rows` records of a COPY were lost with it); warns once per outage. */
  #lost(pg: PgConnection, err: unknown, rows: number) {
    if (this.#pg === pg) {
      this.#pg = undefined;
      this.#unlisten();
      // Ends at once whatever still waits on it (a query postgres.js would otherwise keep).
      pg.close(0).catch(() => {});
    }
    if (this.#outage === undefined) {
      this.#outage = { since: performance.now(), dropped: this.#dropped - rows };
      log.warn("prediction log: lost Postgres; reconnecting, records wait in the buffer meanwhile", {
        table: this.description,
        error: describeError(pgError(err, pg.target, "writing the prediction log")).message,
        dropped: rows,
        buffered: this.#buffer.length,
      });
    }
    this.#wake?.();
  }

  /** One attempt at a new connection (bounded); says so once when Postgres is back. */
  async #reconnect(): Promise<boolean> {
    const attempt = connectPostgres(this.#url, {
      applicationName: APPLICATION_NAME,
      retries: 0,
      connectTimeout: CONNECT_TIMEOUT_S,
    });
    let pg: PgConnection | undefined;
    try {
      pg = await settleWithin(attempt, CONNECT_TIMEOUT_S * 1000 + 1000, this.#stop.signal);
    } catch {
      return false;
    }
    if (pg === undefined || this.#stop.signal.aborted) {
      attempt.then((late) => late.close(0), () => {}).catch(() => {});
      return false;
    }
    this.#adopt(pg);
    if (this.#outage !== undefined) {
      log.info("prediction log: Postgres is back; writing again", {
        table: this.description,
        down_ms: Math.round(performance.now() - this.#outage.since),
        dropped: this.#dropped - this.#outage.dropped,
        kept: this.#buffer.length,
      });
      this.#outage = undefined;
    }
    return true;
  }

  async #run() {
    const stop = this.#stop.signal;
    let backoff = 0;
    while (!stop.aborted && !(this.#closing && this.#buffer.length === 0)) {
      const pg = this.#pg;
      if (pg === undefined) {
        if (backoff > 0) await this.#pause(backoff);
        if (stop.aborted) continue;
        const back = await this.#reconnect();
        // With records waiting, only a COPY that goes through ends the backoff: a server that takes
        // connections and drops them at once is not hammered.
        backoff = back && this.#buffer.length === 0
          ? 0
          : Math.min(this.#maxBackoffMs, Math.max(FIRST_BACKOFF_MS, backoff * 2));
        continue;
      }
      if (this.#buffer.length < this.#batchRows && !this.#closing) await this.#gather();
      if (this.#buffer.length === 0 || this.#pg !== pg || stop.aborted) continue;
      const batch = this.#buffer.splice(0, this.#batchRows);
      const failed = await this.#write(pg, batch, { copies: SPLIT_COPIES });
      if (failed === undefined) {
        backoff = 0;
        continue;
      }
      this.#dropped += failed.rows;
      if (stop.aborted) break;
      if (this.#pg !== pg || failed.failure.name === "UnavailableError") {
        this.#lost(pg, failed.failure, failed.rows);
      } else {
        this.#warn(failed.failure, failed.rows);
        // Back off so a COPY that keeps failing (the table dropped) does not become a busy loop.
        await this.#pause(1000);
      }
    }
  }

  /**
   * Writes `batch`. A COPY the server refuses for a value in it (a JSON nested past its stack, a value out of a
   * type's range) is split in halves until the records at fault are found and dropped alone, counted: one odd request
   * must not take its neighbours' rows with it. Returns what stopped the writing (as `pgError` reads it) and the
   * rows it left unwritten (a lost connection, a dropped table; or more splitting than `budget` allows), else
   * undefined.
   */
  async #write(
    pg: PgConnection,
    batch: LoggedPrediction[],
    budget: { copies: number },
  ): Promise<{ failure: Error; rows: number } | undefined> {
    try {
      this.#written += await this.#attempt(pg, batch);
      return undefined;
    } catch (err) {
      const failure = pgError(err, pg.target, "writing the prediction log");
      if (this.#stop.signal.aborted || this.#pg !== pg || failure.name !== "InputError") {
        return { failure, rows: batch.length };
      }
      if (batch.length === 1) {
        this.#dropped++;
        this.#warn(failure, 1);
        return undefined;
      }
      if ((budget.copies -= 2) < 0) return { failure, rows: batch.length };
      const half = batch.length >> 1;
      const first = await this.#write(pg, batch.slice(0, half), budget);
      if (first !== undefined) return { failure: first.failure, rows: first.rows + batch.length - half };
      return await this.#write(pg, batch.slice(half), budget);
    }
  }

  /** Waits for a full batch or the flush timer. */
  async #gather() {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.#buffer.length > 0 ? this.#flushMs : this.#flushMs * 5);
      this.#wake = done;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    this.#wake = undefined;
  }

  /** Sleeps `ms`, or less if close stops waiting. */
  #pause(ms: number): Promise<void> {
    return settleWithin(new Promise<void>(() => {}), ms, this.#stop.signal).then(() => {});
  }

  /** One COPY of `batch`, failed at once if its connection drops, past the COPY timeout, or when close stops waiting. */
  async #attempt(pg: PgConnection, batch: LoggedPrediction[]): Promise<number> {
    let abandon!: (err: unknown) => void;
    const abandoned = new Promise<never>((_, reject) => abandon = reject);
    abandoned.catch(() => {});
    this.#abandon = abandon;
    const timer = setTimeout(
      () =>
        abandon(Object.assign(new Error(`a COPY took over ${this.#copyTimeoutMs} ms`), { code: "CONNECTION_CLOSED" })),
      this.#copyTimeoutMs,
    );
    const stop = () => abandon(new Error("the prediction log is closing"));
    this.#stop.signal.addEventListener("abort", stop, { once: true });
    // Not waiting for the COPY's own cleanup (its cancel may wait a second on a dead connection).
    const copying = this.#copy(pg, batch, abandoned);
    copying.catch(() => {});
    try {
      return await Promise.race([copying, abandoned]);
    } finally {
      clearTimeout(timer);
      this.#stop.signal.removeEventListener("abort", stop);
      this.#abandon = undefined;
    }
  }

  async #copy(pg: PgConnection, batch: LoggedPrediction[], abandoned: Promise<never>): Promise<number> {
    let written = 0;
    let unwritable = 0;
    // Every wait races `abandoned`: postgres.js leaves some waits unsettled when the socket goes away mid-COPY.
    const wait = <T>(work: Promise<T>) => Promise.race([work, abandoned]);
    const opening = openCopy(pg.sql, this.#table, COPY_COLUMNS);
    opening.catch(() => {});
    const copy = await wait(opening);
    try {
      // The text is made in slices with a turn of the event loop between them: serializing
      // thousands of rows at once would stall the requests being answered meanwhile.
      for (let start = 0; start < batch.length; start += SLICE_ROWS) {
        const records = batch.slice(start, start + SLICE_ROWS);
        let text = "";
        let rows = records.length;
        try {
          text = this.#encode(recordBatch(records));
        } catch {
          // A record that cannot be serialized (circular, too deep) is dropped alone, not with its slice.
          rows = 0;
          for (const r of records) {
            try {
              text += this.#encode(recordBatch([r]));
              rows++;
            } catch {
              unwritable++;
            }
          }
        }
        await wait(copy.writeText(text, rows));
        written += rows;
        await wait(new Promise((r) => setTimeout(r, 0)));
      }
      await wait(copy.end());
    } catch (err) {
      await copy.cancel().catch(() => {});
      throw err;
    }
    // Counted only on success: a failed COPY drops (and counts) its whole batch.
    this.#dropped += unwritable;
    return written;
  }

  #warn(err: Error, rows: number) {
    const now = Date.now();
    if (now - this.#lastWarning < 10_000) return;
    this.#lastWarning = now;
    log.warn("prediction log: a COPY failed; its rows are dropped", {
      table: this.description,
      rows,
      error: describeError(err).message,
      dropped: this.#dropped,
    });
  }
}
