/**
 * The prediction log of `score serve --log-predictions`: every scored row
 * (features, outputs, model version, request id) is written to a Postgres
 * table in the background with `COPY ... FROM STDIN`, in batches.
 *
 * It sits off the response path: `write` only pushes onto a bounded
 * buffer. When the buffer is full, or Postgres is slow or down, records are
 * dropped and counted, never waited for, so the log can neither slow nor
 * fail a response.
 */
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

/** Buffering limits. */
export interface PredictionLogOptions {
  /** How errors name the log's URL (the caller's setting, e.g. its flag); "the prediction log URL" by default. */
  what?: string;
  /** Most records held waiting (default 100,000); past it they are dropped. */
  bufferRows?: number;
  /** Most records per COPY (default 10,000). */
  batchRows?: number;
  /** How long records may wait for company before a COPY (default 200 ms). */
  flushMs?: number;
}

const DEFAULT_WHAT = "the prediction log URL";

/** Records serialized between two turns of the event loop. */
const SLICE_ROWS = 256;

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
  readonly #pg: PgConnection;
  readonly #table: string;
  readonly #bufferRows: number;
  readonly #batchRows: number;
  readonly #flushMs: number;
  readonly #encode = copyEncoder(COPY_COLUMNS);
  #buffer: LoggedPrediction[] = [];
  #written = 0;
  #dropped = 0;
  #closing = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void>;
  #lastWarning = 0;

  private constructor(pg: PgConnection, table: string, options: PredictionLogOptions) {
    this.#pg = pg;
    this.#table = table;
    this.description = `${pg.target.description}/${table}`;
    this.#bufferRows = options.bufferRows ?? 100_000;
    this.#batchRows = options.batchRows ?? 10_000;
    this.#flushMs = options.flushMs ?? 200;
    this.#loop = this.#run();
  }

  /** Connects, creates the table if needed and starts the background writer. */
  static async open(text: string, options: PredictionLogOptions = {}): Promise<PredictionLog> {
    const { url, table } = splitTableUrl(text, options.what);
    const quoted = quoteTable(table, `${options.what ?? DEFAULT_WHAT} table`);
    const pg = await connectPostgres(url, { applicationName: "score serve predictions" });
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
    return new PredictionLog(pg, table, options);
  }

  /** Records written to Postgres so far. */
  get written(): number {
    return this.#written;
  }

  /** Records dropped so far: buffer full, or a COPY that failed. */
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

  /** Writes what is buffered (waiting at most `timeoutMs`), then disconnects. */
  async close(timeoutMs = 5000): Promise<void> {
    this.#closing = true;
    this.#wake?.();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((r) => timer = setTimeout(() => r(true), timeoutMs));
    const late = await Promise.race([this.#loop.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) {
      this.#dropped += this.#buffer.length;
      this.#buffer = [];
      log.warn("prediction log: gave up flushing on close", { table: this.description, dropped: this.#dropped });
    }
    await this.#pg.close(late ? 0 : 5);
  }

  async #run() {
    while (!(this.#closing && this.#buffer.length === 0)) {
      if (this.#buffer.length < this.#batchRows && !this.#closing) {
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
      if (this.#buffer.length === 0) continue;
      const batch = this.#buffer.splice(0, this.#batchRows);
      try {
        this.#written += await this.#copy(batch);
      } catch (err) {
        this.#dropped += batch.length;
        this.#warn(err, batch.length);
        // Back off so a Postgres outage does not become a busy loop.
        if (!this.#closing) await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async #copy(batch: LoggedPrediction[]): Promise<number> {
    let written = 0;
    let unwritable = 0;
    const pg = this.#pg;
    // Every wait is guarded: a connection that drops mid-COPY fails this batch instead of stalling the log.
    const copy = await pg.guard(openCopy(pg.sql, this.#table, COPY_COLUMNS));
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
        await pg.guard(copy.writeText(text, rows));
        written += rows;
        await new Promise((r) => setTimeout(r, 0));
      }
      await pg.guard(copy.end());
    } catch (err) {
      await copy.cancel().catch(() => {});
      throw err;
    }
    // Counted only on success: a failed COPY drops (and counts) its whole batch.
    this.#dropped += unwritable;
    return written;
  }

  #warn(err: unknown, rows: number) {
    const now = Date.now();
    if (now - this.#lastWarning < 10_000) return;
    this.#lastWarning = now;
    log.warn("prediction log: a COPY failed; its rows are dropped", {
      table: this.description,
      rows,
      error: describeError(pgError(err, this.#pg.target, "writing the prediction log")).message,
      dropped: this.#dropped,
    });
  }
}
