/**
 * The main thread's side of `reader_worker.ts`: a worker started when a
 * file source opens (with DuckDB, for a Parquet file), then a read taken as
 * batches (text decoded here, where it is used), closed (interrupted) at any
 * time.
 */
import { InputError } from "../errors.ts";
import type { RowBatch } from "../rows.ts";
import { isTextBytes, textOf } from "../text_bytes.ts";
import type { ParquetFile } from "./parquet_batches.ts";
import type { FileRead, ReaderReply, ReaderRequest } from "./reader_worker.ts";
import { CsvStopped } from "./csv_byte_batches.ts";

/**
 * How long closing waits for the worker to stop its query and close its database (which itself waits up to 10 s for
 * an interrupted query): past it, the worker is ended anyway.
 */
const CLOSE_WAIT_MS = 12_000;

/** A file reader in a worker, for one read. */
export interface ReaderWorker {
  /** A Parquet file's columns (DuckDB's types) and rows, from its footer. */
  describeParquet(path: string): Promise<ParquetFile>;
  /**
   * The batches of a read, in order; throws what the read failed with (an `InputError` stays one). The worker is
   * closed when the read ends, but for a CSV read that stops at a row it leaves to JavaScript ({@linkcode CsvStopped}):
   * then the caller may read on with it (from further on), and closes it.
   */
  batches(read: FileRead): AsyncGenerator<RowBatch & { consumed?: number }>;
  /** Interrupts a read, closes the database and ends the worker; batches not taken are dropped. */
  close(): Promise<void>;
}

/** A reader's worker started ahead (see {@linkcode startReaderWorker}). */
export interface ReaderAhead {
  /** The worker, as the next reader opened gets it. */
  reader: Promise<ReaderWorker>;
  /** Closes it if no reader took it; once taken, closing it is its reader's. */
  release(): Promise<void>;
}

/** A worker started ahead by {@linkcode startReaderWorker}, for the next {@linkcode openReaderWorker}. */
let early: Promise<ReaderWorker> | undefined;

/**
 * Starts a worker, and DuckDB in it unless `duckdb` is false (a CSV file is read without it); throws when DuckDB
 * cannot start. The worker started ahead, if any, is this one.
 *
 * @example
 * ```ts
 * const reader = await openReaderWorker();
 * const file = await reader.describeParquet("rides.parquet");
 * for await (const batch of reader.batches({ kind: "parquet", path: "rides.parquet", columns: file.columns, total: file.total, batchSize: 10_000 })) {
 *   batch.columns.trip_distance;
 * }
 * ```
 */
export function openReaderWorker(options: { duckdb?: boolean } = {}): Promise<ReaderWorker> {
  const ahead = early;
  early = undefined;
  return ahead ?? startWorker(options.duckdb ?? true);
}

/**
 * Starts a worker (and its DuckDB, unless `duckdb` is false) now, for the next {@linkcode openReaderWorker} to take: a
 * job that will read a large file calls it first thing, and the worker loads its code and DuckDB while the job's own
 * thread loads the model. Released when nothing took it (the job stopped first, or read the file in place), it cannot keep the
 * process alive.
 *
 * @example
 * ```ts
 * const ahead = startReaderWorker();
 * try {
 *   // ... load the model, then open the source: it takes the worker
 * } finally {
 *   await ahead.release();
 * }
 * ```
 */
export function startReaderWorker(options: { duckdb?: boolean } = {}): ReaderAhead {
  const started = early ?? startWorker(options.duckdb ?? true);
  // A failure to start is met by the reader that takes it (which may then read in place), not here.
  started.catch(() => {});
  early = started;
  return {
    reader: started,
    release: async () => {
      if (early !== started) return;
      early = undefined;
      await started.then((reader) => reader.close(), () => {});
    },
  };
}

async function startWorker(duckdb: boolean): Promise<ReaderWorker> {
  const worker = new Worker(new URL("./reader_worker.ts", import.meta.url), { type: "module" });
  const replies: ReaderReply[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  let stopped: Promise<void> | undefined;
  /** A read is under way: reads go one at a time. */
  let reading = false;
  /** The worker failed outside any request (its module, an uncaught error): it will not answer a close. */
  let dead = false;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  worker.onmessage = (event: MessageEvent<ReaderReply>) => {
    replies.push(event.data);
    notify();
  };
  worker.onerror = (event: ErrorEvent) => {
    // Handled here: an error left unhandled in a worker would end the whole process.
    event.preventDefault();
    dead = true;
    replies.push({ kind: "failed", name: "Error", message: `The file reader failed: ${event.message}` });
    notify();
  };
  const send = (request: ReaderRequest) => worker.postMessage(request);
  /** The next answer; a failure thrown. */
  const next = async (): Promise<Exclude<ReaderReply, { kind: "failed" }>> => {
    for (;;) {
      if (closed) throw new Error("The file reader is closed");
      const reply = replies.shift();
      if (reply?.kind === "failed") {
        if (reply.stopped) throw new CsvStopped(reply.stopped.why, reply.stopped.at);
        throw reply.name === "InputError" ? new InputError(reply.message) : new Error(reply.message);
      }
      if (reply !== undefined) return reply;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  const close = (): Promise<void> => {
    if (stopped) return stopped;
    closed = true;
    notify();
    stopped = (async () => {
      const { promise, resolve } = Promise.withResolvers<void>();
      worker.onmessage = (event: MessageEvent<ReaderReply>) => event.data.kind === "closed" && resolve();
      const timer = setTimeout(resolve, dead ? 0 : CLOSE_WAIT_MS);
      send({ kind: "close" });
      await promise;
      clearTimeout(timer);
      worker.terminate();
    })();
    return stopped;
  };
  try {
    send({ kind: "open", duckdb });
    await next();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    async describeParquet(path) {
      send({ kind: "describe", path });
      const reply = await next();
      if (reply.kind !== "described") throw new Error(`The file reader answered ${reply.kind} to describe`);
      return reply.file;
    },
    async *batches(read) {
      if (reading) throw new Error("A reader worker reads one file at a time");
      reading = true;
      /** Whether the worker stays open for another read: a CSV read that stopped at a row (see `CsvStopped`). */
      let stopped = false;
      send({ kind: "read", read });
      try {
        for (;;) {
          const reply = await next();
          if (reply.kind === "end") return;
          if (reply.kind !== "batch") continue;
          send({ kind: "more" });
          const { columns, ...rest } = reply.batch;
          const decoded: RowBatch["columns"] = {};
          for (const [name, column] of Object.entries(columns)) {
            decoded[name] = isTextBytes(column) ? textOf(column) : column;
          }
          yield { ...rest, columns: decoded };
        }
      } catch (err) {
        stopped = err instanceof CsvStopped;
        throw err;
      } finally {
        reading = false;
        if (!stopped) await close();
      }
    },
    close,
  };
}
