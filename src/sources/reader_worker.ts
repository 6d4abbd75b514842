/**
 * The file readers, in a worker of their own (its main thread's side:
 * `reader_client.ts`): here a file is read on while the main thread scores
 * the batch before (on the main thread DuckDB worked only inside the
 * fetches the main thread found time to ask for). A Parquet file is read by
 * DuckDB, whose vectors are copied into batches here; a CSV file from its
 * bytes (`csv_byte_batches.ts`), without DuckDB. Text leaves as bytes
 * (`TextBytes`), whose buffers move to the main thread: strings would be
 * copied one by one on the way.
 *
 * Messages (see {@linkcode ReaderRequest}), one at a time (a read may follow
 * a CSV read that stopped at a row): `open` (DuckDB
 * started when asked, answered `opened`), `describe` (a Parquet file's columns and
 * rows, answered `described`), `read` (answered with `batch`es, then `end`;
 * the main thread sends `more` each time it takes a batch, and at most
 * `IN_FLIGHT` are sent ahead of it), and `close` (a query in flight
 * interrupted, the database closed, answered `closed`). A request that
 * fails is answered `failed`.
 */
/// <reference lib="deno.worker" />
import { type DuckDB, openDuckDB } from "../duckdb/mod.ts";
import { isTextBytes } from "../text_bytes.ts";
import { csvByteBatches, type CsvPlace, type CsvRead, CsvStopped } from "./csv_byte_batches.ts";
import type { ColumnBatch } from "./duckdb_batches.ts";
import { jsonFileBatches, type JsonRead } from "./json_batches.ts";
import { describeParquet, parquetBatches, type ParquetFile, type ParquetRead } from "./parquet_batches.ts";

/** What a worker is asked to read. */
export type FileRead = CsvRead | ParquetRead | JsonRead;

/** What the main thread sends. */
export type ReaderRequest =
  /** `duckdb`: started now, for a read that will need it (it is started at the first need in any case). */
  | { kind: "open"; duckdb: boolean }
  | { kind: "describe"; path: string }
  | { kind: "read"; read: FileRead }
  | { kind: "more" }
  | { kind: "close" };

/** What the worker answers. `failed` carries the error's class name, for the main thread to make it again. */
export type ReaderReply =
  | { kind: "opened" }
  | { kind: "described"; file: ParquetFile }
  | { kind: "batch"; batch: ColumnBatch }
  | { kind: "end" }
  /** `stopped`: a CSV read stopped at a row it leaves to JavaScript (see `CsvStopped`); the worker may read again. */
  | { kind: "failed"; name: string; message: string; stopped?: { why: string; at: CsvPlace } }
  | { kind: "closed" };

/** Batches sent and not yet taken: past it, reading waits. */
const IN_FLIGHT = 2;

let db: DuckDB | undefined;
let credit = IN_FLIGHT;
let wake: (() => void) | undefined;
let closing = false;
/** The request being answered (a read runs until its end), for `close` to wait for. */
let working: Promise<void> = Promise.resolve();

self.onmessage = (event: MessageEvent<ReaderRequest>) => {
  const request = event.data;
  switch (request.kind) {
    case "open":
      working = answer(async () => {
        if (request.duckdb) await duckdb();
        reply({ kind: "opened" });
      });
      break;
    case "describe":
      working = answer(async () =>
        reply({ kind: "described", file: await describeParquet(await duckdb(), request.path) })
      );
      break;
    case "read":
      credit = IN_FLIGHT;
      working = answer(() => read(request.read));
      break;
    case "more":
      credit++;
      notify();
      break;
    case "close":
      void close();
      break;
  }
};

function reply(message: ReaderReply, transfer: ArrayBuffer[] = []) {
  if (!closing) self.postMessage(message, transfer);
}

function notify() {
  const w = wake;
  wake = undefined;
  w?.();
}

async function answer(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    const e = err as Error;
    const stopped = err instanceof CsvStopped ? { why: err.why, at: err.at } : undefined;
    reply({ kind: "failed", name: e.name ?? "Error", message: e.message ?? String(err), stopped });
  }
}

/** The worker's DuckDB, started at the first need. */
async function duckdb(): Promise<DuckDB> {
  db ??= await openDuckDB();
  return db;
}

async function read(request: FileRead): Promise<void> {
  const batches = request.kind === "csv"
    ? csvByteBatches(request)
    : request.kind === "json"
    ? jsonFileBatches(request)
    : parquetBatches(await duckdb(), request);
  for await (const batch of batches) {
    while (credit === 0 && !closing) await new Promise<void>((resolve) => (wake = resolve));
    if (closing) return;
    credit--;
    reply({ kind: "batch", batch }, movable(batch));
  }
  reply({ kind: "end" });
}

async function close(): Promise<void> {
  closing = true;
  notify();
  // Interrupts a fetch in flight and waits for it, so the read above ends, before the database goes.
  await db?.close();
  await working;
  // An open still running when the close came has opened its database since.
  await db?.close();
  self.postMessage({ kind: "closed" } satisfies ReaderReply);
}

/**
 * The buffers a batch's columns hold alone, to move rather than copy: a typed column that is a view of part of a
 * buffer (a chunk split between two batches) is copied first.
 */
function movable(batch: ColumnBatch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const [name, column] of Object.entries(batch.columns)) {
    if (isTextBytes(column)) {
      out.push(column.bytes.buffer, column.ends.buffer);
      if (column.nulls) out.push(column.nulls.buffer);
      continue;
    }
    if (!ArrayBuffer.isView(column)) continue;
    const view = column as unknown as Float64Array;
    const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
    const own = whole && view.buffer instanceof ArrayBuffer ? view : view.slice();
    batch.columns[name] = own;
    out.push(own.buffer as ArrayBuffer);
  }
  return out;
}
