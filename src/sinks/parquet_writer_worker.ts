/**
 * The Parquet sink's writer, in a worker of its own: it stages each batch
 * in its thread's DuckDB (`duckdb_staging.ts`) and, at `commit`, writes the
 * file with DuckDB's writer. Staging here instead of on the job's thread lets
 * the job's thread score the next batch while this one is appended, and
 * DuckDB's library loads here while the model loads there.
 *
 * Messages (see {@linkcode ParquetWorkerRequest}), handled one at a time, in
 * order, each answered `done` (or `failed`, after which the worker does
 * nothing more): `open` (the columns), `batch`, `commit` (writes the staged
 * rows to `path` with `COPY ... TO path (options)`). `close`, handled on
 * arrival, interrupts what runs, skips what waits, closes the staging table
 * and its database (which removes its spill folder) and is answered
 * `closed`, even after a failure.
 */
/// <reference lib="deno.worker" />
import { preloadDuckDB } from "../duckdb/duckdb.ts";
import type { ColumnInfo } from "../rows.ts";
import { openStaging, type Staging } from "./duckdb_staging.ts";

/**
 * A column as it crosses to the worker: the values themselves (typed arrays moved, anything else cloned), a text
 * that every row holds (the model's name and version) sent once, or texts joined into one string with where each
 * ends (one string is cloned at a time far faster than an array of them).
 */
export type ParquetColumn =
  | { values: ArrayLike<unknown> }
  | { same: string; length: number }
  | { joined: string; ends: Uint32Array };

/** What the sink sends. */
export type ParquetWorkerRequest =
  | { kind: "open"; columns: ColumnInfo[] }
  | { kind: "batch"; columns: ParquetColumn[]; offset: number; length: number }
  | { kind: "commit"; path: string; options: string }
  | { kind: "close" };

/** What the worker answers: one per request (none after a failure but `closed`, the answer to `close`). */
export type ParquetWorkerReply = { kind: "done" } | { kind: "failed"; message: string } | { kind: "closed" };

// Loaded now, while the job's thread loads the model: most of opening the first database.
preloadDuckDB();

let columns: ColumnInfo[] = [];
let staging: Staging | undefined;
let failed = false;
let queue = Promise.resolve();

self.onmessage = (event: MessageEvent<ParquetWorkerRequest>) => {
  // `close` does not wait its turn: it interrupts a write in progress (an aborted job's commit), skipping the rest.
  if (event.data.kind === "close") void close();
  else queue = queue.then(() => handle(event.data));
};

async function close(): Promise<void> {
  failed = true;
  const open = staging;
  staging = undefined;
  await open?.close().catch(() => {});
  self.postMessage({ kind: "closed" } satisfies ParquetWorkerReply);
}

async function handle(request: ParquetWorkerRequest): Promise<void> {
  if (failed) return;
  try {
    switch (request.kind) {
      case "open":
        columns = request.columns;
        staging = await openStaging(columns);
        // Closed while it opened: nothing will use it.
        if (failed) await close();
        break;
      case "batch": {
        const values: Record<string, ArrayLike<unknown>> = {};
        request.columns.forEach((c, i) => {
          values[columns[i].name] = "same" in c
            ? new Array(c.length).fill(c.same)
            : "joined" in c
            ? split(c.joined, c.ends)
            : c.values;
        });
        await staging!.write({ offset: request.offset, length: request.length, columns: values });
        break;
      }
      case "commit":
        await staging!.copyTo(request.path, request.options);
        break;
      case "close":
        break; // handled at once, above
    }
    self.postMessage({ kind: "done" } satisfies ParquetWorkerReply);
  } catch (err) {
    failed = true;
    self.postMessage({ kind: "failed", message: (err as Error).message ?? String(err) } satisfies ParquetWorkerReply);
  }
}

function split(joined: string, ends: Uint32Array): string[] {
  const out = new Array<string>(ends.length);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    out[i] = joined.slice(start, ends[i]);
    start = ends[i];
  }
  return out;
}
