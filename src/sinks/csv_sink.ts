/**
 * Writes rows as CSV with a header line, through a temporary file or, for
 * `-`, to standard output (see `csv_text.ts` for how values print).
 *
 * A file's bytes are made and written by a worker (a second core): making
 * them (`String(number)` above all) was as long as the rest of a job's
 * JavaScript. At most `IN_FLIGHT` batches wait for it, which bounds
 * memory. The worker starts with the first write that takes the rows
 * written past `IN_PLACE_ROWS`: a job of a few rows (a cron job's, a test's)
 * writes them in place and never pays for a worker's start (a second
 * runtime and heap). Standard output is written in place, batch by batch.
 */
import type { ColumnInfo, RowBatch } from "../rows.ts";
import { type AtomicFile, createAtomicFile } from "./atomic_file.ts";
import { csvBytes, type CsvColumn, csvColumn, csvHeader } from "./csv_text.ts";
import type { CsvWorkerReply, CsvWorkerRequest } from "./csv_writer_worker.ts";
import type { Sink, SinkExpectations } from "./sink.ts";
import { writeAll } from "./write_all.ts";

/** Batches sent to the writer worker and not yet written: past it, a write waits. */
const IN_FLIGHT = 2;

/** Rows written on the job's thread before the writer worker starts: fewer than a default batch holds. */
export const IN_PLACE_ROWS = 2_048;

/**
 * A CSV sink; `path` `-` is standard output.
 *
 * @example
 * ```ts
 * const sink = createCsvSink("predictions.csv");
 * await sink.open([{ name: "duration", type: "float64" }]);
 * await sink.write({ offset: 0, length: 1, columns: { duration: [12.5] } });
 * await sink.commit();
 * ```
 */
export function createCsvSink(path: string, expect: SinkExpectations = {}): Sink {
  return path === "-" ? stdoutSink() : fileSink(path, expect.manyRows ?? false);
}

function stdoutSink(): Sink {
  let columns: ColumnInfo[] = [];
  const encoder = new TextEncoder();
  const buffer = { bytes: new Uint8Array(1 << 16) };
  return {
    description: "stdout",
    async open(cols) {
      columns = cols;
      await writeAll(Deno.stdout, encoder.encode(csvHeader(cols.map((c) => c.name))));
    },
    async write(batch) {
      if (batch.length === 0) return;
      const bytes = csvBytes(
        columns.map((c) => csvColumn(batch.columns[c.name], c.type, batch.length)),
        columns.map((c) => c.type),
        batch.length,
        buffer,
      );
      await writeAll(Deno.stdout, bytes);
    },
    commit: () => Promise.resolve(),
    abort: () => Promise.resolve(),
  };
}

function fileSink(path: string, manyRows: boolean): Sink {
  let out: AtomicFile | undefined;
  let writer: WriterWorker | undefined;
  let columns: ColumnInfo[] = [];
  /** Rows written in place so far (before the worker, if any, started). */
  let inPlace = 0;
  const openWriter = async (): Promise<WriterWorker> => {
    // The worker appends to what was written in place (sent before any batch: the file's end is where it starts).
    const started = writer = startWriter();
    await started.send({ kind: "open", path: out!.path, types: columns.map((c) => c.type) });
    return started;
  };
  return {
    description: path,
    async open(cols) {
      columns = cols;
      out = await createAtomicFile(path);
      try {
        await writeAll(out.file, new TextEncoder().encode(csvHeader(cols.map((c) => c.name))));
      } catch (err) {
        await out.abort();
        throw err;
      }
      // Many rows to come: the worker starts now, and loads while the job reads its first rows.
      if (manyRows) await openWriter();
    },
    async write(batch) {
      if (batch.length === 0) return;
      if (writer === undefined && inPlace + batch.length <= IN_PLACE_ROWS) {
        inPlace += batch.length;
        const bytes = csvBytes(
          columns.map((c) => csvColumn(batch.columns[c.name], c.type, batch.length)),
          columns.map((c) => c.type),
          batch.length,
          { bytes: new Uint8Array(1 << 12) },
        );
        await writeAll(out!.file, bytes);
        return;
      }
      const to = writer ?? await openWriter();
      const { columns: sent, buffers } = textColumns(batch, columns);
      await to.send({ kind: "batch", columns: sent, length: batch.length }, buffers);
    },
    async commit() {
      if (writer !== undefined) {
        try {
          await writer.send({ kind: "end" });
          await writer.drained();
        } finally {
          writer.stop();
        }
      }
      await out!.commit();
    },
    async abort() {
      writer?.stop();
      await out?.abort();
    },
  };
}

/**
 * A batch's columns as the worker gets them: strings joined, or the bytes a file reader's text was decoded from;
 * typed arrays copied, so that every buffer sent is the sink's own and moves to the worker (a copy per message cost
 * more than making the text).
 */
function textColumns(batch: RowBatch, columns: ColumnInfo[]): { columns: CsvColumn[]; buffers: ArrayBuffer[] } {
  const buffers: ArrayBuffer[] = [];
  const out = columns.map((c): CsvColumn => {
    const column = csvColumn(batch.columns[c.name], c.type, batch.length, { join: true });
    if ("joined" in column) buffers.push(column.ends.buffer);
    if ("utf8" in column) buffers.push(column.utf8.buffer, column.ends.buffer);
    if ("values" in column && ArrayBuffer.isView(column.values)) {
      const own = (column.values as unknown as Float64Array).slice();
      buffers.push(own.buffer);
      return { values: own };
    }
    return column;
  });
  return { columns: out, buffers };
}

/** The writer worker and the requests it has not answered yet. */
interface WriterWorker {
  /** Sends a request (moving `transfer` to the worker); waits while `IN_FLIGHT` are unanswered. Throws the worker's failure. */
  send(request: CsvWorkerRequest, transfer?: ArrayBuffer[]): Promise<void>;
  /** Waits for every answer. */
  drained(): Promise<void>;
  stop(): void;
}

function startWriter(): WriterWorker {
  const worker = new Worker(new URL("./csv_writer_worker.ts", import.meta.url), { type: "module" });
  const waiting: { resolve: () => void; reject: (err: Error) => void; done: Promise<void> }[] = [];
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  worker.onmessage = (event: MessageEvent<CsvWorkerReply>) => {
    const reply = event.data;
    if (reply.kind === "failed") fail(new Error(`Cannot write the CSV file: ${reply.message}`));
    else waiting.shift()?.resolve();
  };
  worker.onerror = (event: ErrorEvent) => {
    // Handled here: an error left unhandled in a worker would end the whole process.
    event.preventDefault();
    fail(new Error(`The CSV writer failed: ${event.message}`));
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
    stop: () => worker.terminate(),
  };
}
