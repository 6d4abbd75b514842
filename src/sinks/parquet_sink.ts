/**
 * Writes rows as Parquet (SNAPPY, dictionary-encoded where it pays, row
 * groups of `rowGroupSize` rows) through a temporary file, with DuckDB's
 * writer. Column types follow the source's: timestamps stay timestamps,
 * int64 stays int64.
 *
 * Rows are staged and the file written by a worker of the sink's own
 * (`parquet_writer_worker.ts`): appending a batch to the staging table
 * there overlaps the job's thread scoring the next one. At most
 * `IN_FLIGHT` batches wait for it, which bounds memory.
 */
import type { ColumnInfo, RowBatch } from "../rows.ts";
import { type AtomicFile, createAtomicFile } from "./atomic_file.ts";
import type { ParquetColumn, ParquetWorkerReply, ParquetWorkerRequest } from "./parquet_writer_worker.ts";
import type { Sink } from "./sink.ts";

/** Batches sent to the writer worker and not yet staged: past it, a write waits. */
const IN_FLIGHT = 2;

/** How long closing the worker waits for its database to close (and its spill folder to go) before ending it. */
const CLOSE_WAIT_MS = 15_000;

/**
 * A Parquet file sink. Rows are staged (memory bounded, spilled to disk
 * past a limit) and the file is written at commit.
 *
 * @example
 * ```ts
 * const sink = createParquetSink("predictions.parquet", { rowGroupSize: 122_880 });
 * ```
 */
export function createParquetSink(path: string, options: { rowGroupSize?: number } = {}): Sink {
  const rowGroupSize = options.rowGroupSize ?? 122_880;
  let writer: WriterWorker | undefined;
  let out: AtomicFile | undefined;
  let columns: ColumnInfo[] = [];
  const stop = async () => {
    const w = writer;
    writer = undefined;
    await w?.close();
  };
  return {
    description: path,
    async open(cols) {
      columns = cols;
      out = await createAtomicFile(path);
      try {
        // Started at open, not when made (a worker would keep the process alive for a sink never opened); it loads
        // DuckDB while the job reads its first batch.
        writer = startWriter();
        await writer.send({ kind: "open", columns: cols });
        await writer.drained();
      } catch (err) {
        await stop();
        await out.abort();
        throw err;
      }
    },
    async write(batch: RowBatch) {
      if (batch.length === 0) return;
      const { columns: sent, buffers } = parquetColumns(batch, columns);
      await writer!.send({ kind: "batch", columns: sent, offset: batch.offset, length: batch.length }, buffers);
    },
    async commit() {
      try {
        // DuckDB writes the temporary file in place (no file of its own), so the rename makes it visible at once.
        await writer!.send({
          kind: "commit",
          path: out!.path,
          options: `format parquet, compression snappy, row_group_size ${rowGroupSize}, use_tmp_file false`,
        });
        await writer!.drained();
      } finally {
        await stop();
      }
      await out!.commit();
    },
    async abort() {
      await stop();
      await out?.abort();
    },
  };
}

/**
 * A batch's columns as the worker gets them: typed arrays copied (each buffer sent is the sink's own and moves), a
 * text every row holds sent once, anything else cloned.
 */
function parquetColumns(batch: RowBatch, columns: ColumnInfo[]): { columns: ParquetColumn[]; buffers: ArrayBuffer[] } {
  const buffers: ArrayBuffer[] = [];
  const sent = columns.map((c): ParquetColumn => {
    const values = batch.columns[c.name];
    if (ArrayBuffer.isView(values)) {
      const own = (values as unknown as Float64Array).slice();
      buffers.push(own.buffer);
      return { values: own };
    }
    const first = values[0];
    if (typeof first === "string") {
      if (everyIs(values, first, batch.length)) return { same: first, length: batch.length };
      const joined = joinedTexts(values, batch.length);
      if (joined !== undefined) {
        buffers.push(joined.ends.buffer as ArrayBuffer);
        return joined;
      }
    }
    return { values: Array.isArray(values) ? values : Array.from(values) };
  });
  return { columns: sent, buffers };
}

/** The texts joined, with where each ends; undefined when a value is not a string (a null). */
function joinedTexts(values: ArrayLike<unknown>, length: number): { joined: string; ends: Uint32Array } | undefined {
  const ends = new Uint32Array(length);
  let end = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (typeof v !== "string") return undefined;
    ends[i] = end += v.length;
  }
  return { joined: Array.prototype.join.call(values, ""), ends };
}

function everyIs(values: ArrayLike<unknown>, value: string, length: number): boolean {
  for (let i = 0; i < length; i++) if (values[i] !== value) return false;
  return true;
}

/** The writer worker and the requests it has not answered yet. */
interface WriterWorker {
  /** Sends a request (moving `transfer` to the worker); waits while `IN_FLIGHT` are unanswered. Throws the worker's failure. */
  send(request: ParquetWorkerRequest, transfer?: ArrayBuffer[]): Promise<void>;
  /** Waits for every answer. */
  drained(): Promise<void>;
  /** Closes the worker's database (bounded wait, even after a failure), then ends the worker. */
  close(): Promise<void>;
}

function startWriter(): WriterWorker {
  const worker = new Worker(new URL("./parquet_writer_worker.ts", import.meta.url), { type: "module" });
  const waiting: { resolve: () => void; reject: (err: Error) => void; done: Promise<void> }[] = [];
  let failure: Error | undefined;
  let closed: (() => void) | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  worker.onmessage = (event: MessageEvent<ParquetWorkerReply>) => {
    const reply = event.data;
    if (reply.kind === "closed") return closed?.();
    if (reply.kind === "failed") fail(new Error(`Cannot write the Parquet file: ${reply.message}`));
    else waiting.shift()?.resolve();
  };
  worker.onerror = (event: ErrorEvent) => {
    // Handled here: an error left unhandled in a worker would end the whole process.
    event.preventDefault();
    fail(new Error(`The Parquet writer failed: ${event.message}`));
    closed?.();
  };
  return {
    async send(request, transfer = []) {
      if (failure) throw failure;
      const { promise: done, resolve, reject } = Promise.withResolvers<void>();
      // Awaited only while IN_FLIGHT are out or at the end; a failure before then must not count as unhandled.
      done.catch(() => {});
      waiting.push({ resolve, reject, done });
      worker.postMessage(request, transfer);
      if (waiting.length >= IN_FLIGHT) await waiting[0].done;
      if (failure) throw failure;
    },
    async drained() {
      while (waiting.length > 0) await waiting.at(-1)!.done;
      if (failure) throw failure;
    },
    async close() {
      // Requests still unanswered are abandoned: the worker handles them (or skips them, failed) before `close`.
      fail(failure ?? new Error("The Parquet writer is closing"));
      const { promise, resolve } = Promise.withResolvers<void>();
      closed = resolve;
      worker.postMessage({ kind: "close" } satisfies ParquetWorkerRequest);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([promise, new Promise<void>((r) => timer = setTimeout(r, CLOSE_WAIT_MS))]);
      clearTimeout(timer);
      worker.terminate();
    },
  };
}
