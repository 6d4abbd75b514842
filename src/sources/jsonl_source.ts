/**
 * Reads JSON lines (one object per line) or a JSON array of objects (a
 * `.json` file may be either: the first character tells). Its columns are
 * the keys of the first 1,000 objects; a line or element that is not a JSON
 * object is rejected alone. A file over a few hundred KiB is parsed in the
 * file reader's worker while the job scores the batch before; a smaller one,
 * and standard input, on the job's thread, by the same code
 * (`json_batches.ts`).
 */
import { createReadStream } from "node:fs";
import type { RowBatch } from "../rows.ts";
import { fileSize, STDIN } from "./file_size.ts";
import { jsonBatches, jsonRecords, type Text, tryParse } from "./json_batches.ts";
import { openReaderWorker, type ReaderAhead, type ReaderWorker, startReaderWorker } from "./reader_client.ts";
import type { ReadOptions, Source } from "./source.ts";
import { utf8Text } from "./utf8_text.ts";

/** Lines read ahead to find the columns. */
const LOOKAHEAD_LINES = 1000;

/** A file up to this size is parsed on the job's thread: a worker would start about as long as it takes to read it. */
export const JSON_IN_PROCESS_MAX_BYTES = 256 << 10;

/**
 * Starts ahead the file reader's worker that opening `path` will take, when the file is large enough for one (see
 * `startReaderWorker`); nothing for standard input, or a file that is not there (opening it says so).
 *
 * @example
 * ```ts
 * const ahead = await startJsonReader("events.jsonl");
 * await ahead?.release();
 * ```
 */
export async function startJsonReader(path: string): Promise<ReaderAhead | undefined> {
  if (path === STDIN) return undefined;
  const size = await fileSize(path).catch(() => 0);
  return size > JSON_IN_PROCESS_MAX_BYTES ? startReaderWorker({ duckdb: false }) : undefined;
}

/**
 * Opens a JSON-lines source and reads ahead up to 1,000 lines for the columns.
 *
 * @example
 * ```ts
 * const source = await openJsonlSource("events.jsonl");
 * ```
 */
export async function openJsonlSource(path: string, options: { inProcessMaxBytes?: number } = {}): Promise<Source> {
  const total = await fileSize(path);
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const lines = await jsonRecords(utf8Text(stream as AsyncIterable<Uint8Array>));
  // The columns are the keys seen in the first lines, in order of appearance: a first object without an
  // optional key must not hide that column from the whole job.
  const pending: Text[] = [];
  const seen = new Set<string>();
  while (pending.length < LOOKAHEAD_LINES) {
    const r = await lines.next();
    if (r.done) break;
    pending.push(r.value);
    const parsed = tryParse(r.value);
    if (parsed.ok) { for (const key of Object.keys(parsed.value)) seen.add(key); }
  }
  const keys = [...seen];
  // A large file is parsed in the worker, from its start (the lines read here only gave the columns); a worker that
  // cannot start leaves it here.
  const byWorker = path !== STDIN && total > (options.inProcessMaxBytes ?? JSON_IN_PROCESS_MAX_BYTES);
  const worker = byWorker ? await openReaderWorker({ duckdb: false }).catch(() => undefined) : undefined;
  if (worker) stream.destroy();
  const consumed = { chars: 0 };
  return {
    description: path === STDIN ? "stdin" : path,
    columns: keys.map((name) => ({ name, type: "json" })),
    // What the records handed out so far span (characters: bytes for ASCII, fewer otherwise, so the fraction
    // never runs ahead), not what the stream read ahead.
    progress: () => ({ done: Math.min(consumed.chars, total), total }),
    batches: (options) =>
      worker
        ? workerBatches(worker, path, keys, options, consumed)
        : jsonBatches(pending, lines, keys, options, consumed),
    close: async () => {
      stream.destroy();
      await worker?.close();
    },
  };
}

/** The worker's batches, with how far they reach. */
async function* workerBatches(
  worker: ReaderWorker,
  path: string,
  keys: string[],
  options: ReadOptions,
  consumed: { chars: number },
): AsyncGenerator<RowBatch> {
  for await (const batch of worker.batches({ kind: "json", path, keys, options })) {
    if (batch.consumed !== undefined) consumed.chars = batch.consumed;
    yield batch;
  }
}
