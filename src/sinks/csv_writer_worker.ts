/**
 * The CSV sink's writer, in a worker of its own (a second core): it makes
 * each batch's bytes (`csvBytes`) and writes them to the file the sink opened,
 * one message at a time, in order, and answers each with `written` (or
 * `failed`, after which it writes nothing more).
 *
 * Messages (see {@linkcode CsvWorkerRequest}): `open` (the file's path and
 * the column types), `batch`, `end` (closes the file).
 *
 * Every `SYNC_BYTES` written, the data so far is flushed to disk in the
 * background (through a second handle, while writing goes on), so the
 * sink's commit, which flushes the file before renaming it, finds little
 * left to flush.
 */
/// <reference lib="deno.worker" />
import type { ValueType } from "../rows.ts";
import { csvBytes, type CsvColumn } from "./csv_text.ts";
import { writeAll } from "./write_all.ts";

/** What the sink sends. */
export type CsvWorkerRequest =
  | { kind: "open"; path: string; types: ValueType[] }
  | { kind: "batch"; columns: CsvColumn[]; length: number }
  | { kind: "end" };

/** What the worker answers, one per request. */
export type CsvWorkerReply = { kind: "written" } | { kind: "failed"; message: string };

/** Bytes written between two background flushes. */
const SYNC_BYTES = 16 << 20;

let file: Deno.FsFile | undefined;
/** The same file, opened again to flush it while `file` is written. */
let flusher: Deno.FsFile | undefined;
let flushing: Promise<void> | undefined;
let unflushed = 0;
let types: ValueType[] = [];
let failed = false;
/** Where a batch's bytes are made, reused from batch to batch (see `csvBytes`). */
const buffer = { bytes: new Uint8Array(1 << 20) };
let queue = Promise.resolve();

self.onmessage = (event: MessageEvent<CsvWorkerRequest>) => {
  queue = queue.then(() => handle(event.data));
};

async function handle(request: CsvWorkerRequest): Promise<void> {
  if (failed) return;
  try {
    switch (request.kind) {
      case "open":
        file = await Deno.open(request.path, { write: true, append: true });
        flusher = await Deno.open(request.path, { read: true });
        types = request.types;
        break;
      case "batch": {
        const bytes = csvBytes(request.columns, types, request.length, buffer);
        await writeAll(file!, bytes);
        unflushed += bytes.length;
        if (unflushed >= SYNC_BYTES && flushing === undefined) {
          unflushed = 0;
          // Not awaited: a failure here is the commit's to find (it flushes the file again).
          flushing = flusher!.syncData().catch(() => {}).finally(() => (flushing = undefined));
        }
        break;
      }
      case "end":
        await flushing;
        file?.close();
        flusher?.close();
        file = flusher = undefined;
        break;
    }
    self.postMessage({ kind: "written" } satisfies CsvWorkerReply);
  } catch (err) {
    failed = true;
    self.postMessage({ kind: "failed", message: (err as Error).message ?? String(err) } satisfies CsvWorkerReply);
  }
}
