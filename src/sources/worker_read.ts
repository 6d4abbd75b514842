/**
 * The main thread's side of `reader_worker.ts`: a read run by DuckDB in a
 * worker, taken as batches (text decoded here, where it is used), and
 * closed (interrupted) at any time.
 */
import { InputError } from "../errors.ts";
import type { RowBatch } from "../rows.ts";
import { isTextBytes, textOf } from "../text_bytes.ts";
import type { DuckDBRead, ReaderReply, ReaderRequest } from "./reader_worker.ts";

/**
 * How long closing waits for the worker to stop its query and close its database (which itself waits up to 10 s for
 * an interrupted query): past it, the worker is ended anyway.
 */
const CLOSE_WAIT_MS = 12_000;

/** A read in a worker. */
export interface WorkerRead {
  /** The batches, in order; throws what the read failed with (an `InputError` stays one). */
  batches(): AsyncGenerator<RowBatch>;
  /** Interrupts the read, closes its database and ends the worker; batches not taken yet are dropped. */
  close(): Promise<void>;
}

/**
 * Starts a read in a worker of its own; its batches are read once.
 *
 * @example
 * ```ts
 * const read = startWorkerRead({ kind: "parquet", path: "rides.parquet", columns: [{ name: "trip_distance", type: "DOUBLE" }], total: 3, batchSize: 10_000 });
 * for await (const batch of read.batches()) batch.columns.trip_distance;
 * await read.close();
 * ```
 */
export function startWorkerRead(read: DuckDBRead): WorkerRead {
  const worker = new Worker(new URL("./reader_worker.ts", import.meta.url), { type: "module" });
  const replies: ReaderReply[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  let stopped: Promise<void> | undefined;
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
    replies.push({ kind: "failed", name: "Error", message: `The file reader failed: ${event.message}` });
    notify();
  };
  const send = (request: ReaderRequest) => worker.postMessage(request);
  const next = async (): Promise<ReaderReply> => {
    for (;;) {
      if (closed) throw new Error("The file reader is closed");
      const reply = replies.shift();
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
      const timer = setTimeout(resolve, CLOSE_WAIT_MS);
      send({ kind: "close" });
      await promise;
      clearTimeout(timer);
      worker.terminate();
    })();
    return stopped;
  };
  return {
    async *batches() {
      send({ kind: "read", read });
      try {
        for (;;) {
          const reply = await next();
          if (reply.kind === "end") return;
          if (reply.kind === "failed") {
            throw reply.name === "InputError" ? new InputError(reply.message) : new Error(reply.message);
          }
          if (reply.kind !== "batch") continue;
          send({ kind: "more" });
          const { offset, length, columns } = reply.batch;
          const decoded: RowBatch["columns"] = {};
          for (const [name, column] of Object.entries(columns)) {
            decoded[name] = isTextBytes(column) ? textOf(column) : column;
          }
          yield { offset, length, columns: decoded };
        }
      } finally {
        await close();
      }
    },
    close,
  };
}
