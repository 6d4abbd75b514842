/**
 * The CSV sink's writer, in a worker of its own (a second core): it makes
 * each batch's text, encodes and writes it to the file the sink opened,
 * one message at a time, in order, and answers each with `written` (or
 * `failed`, after which it writes nothing more).
 *
 * Messages (see {@linkcode CsvWorkerRequest}): `open` (the file's path and
 * the column types), `batch`, `end` (closes the file).
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

let file: Deno.FsFile | undefined;
let types: ValueType[] = [];
let failed = false;
const encoder = new TextEncoder();
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
        types = request.types;
        break;
      case "batch":
        await writeAll(file!, encoder.encode(csvText(request.columns, types, request.length)));
        break;
      case "end":
        file?.close();
        file = undefined;
        break;
    }
    self.postMessage({ kind: "written" } satisfies CsvWorkerReply);
  } catch (err) {
    failed = true;
    self.postMessage({ kind: "failed", message: (err as Error).message ?? String(err) } satisfies CsvWorkerReply);
  }
}
