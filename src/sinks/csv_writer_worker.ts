/**
 * The CSV sink's writer, in a worker of its own (a second core): it makes
 * each batch's text, encodes and writes it to the file the sink opened,
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
import { type CsvColumn, csvText } from "./csv_text.ts";
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
const encoder = new TextEncoder();
/** The encoded text of a batch, reused: a fresh buffer a batch was fresh memory, each page of it a page fault. */
let out = new Uint8Array(1 << 20);

/** `text` as UTF-8, in `out` (valid until the next call). */
function encode(text: string): Uint8Array {
  // Three bytes at most for each UTF-16 unit.
  if (out.length < text.length * 3) out = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, out);
  return out.subarray(0, written);
}
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
        const bytes = encode(csvText(request.columns, types, request.length));
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
