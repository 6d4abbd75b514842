/**
 * Reads a CSV file with a header line, streaming. A large file is read from
 * its bytes in a worker of its own (`csv_byte_batches.ts` in
 * `reader_worker.ts`) while the job scores the batch before;
 * `csv_records.ts` reads what that reader does not (a small file, standard
 * input, a delimiter of more than one byte) and a
 * file from the first row that reader leaves to it (a ragged row, a broken
 * quote, bytes that are not UTF-8), so such rows are rejected alone with
 * their row numbers and the reading goes on.
 *
 * Values stay text and the model's coercion types them, except the columns
 * the caller will read as numbers (`ReadOptions.numbers`): there a plain
 * number comes as a number, in a typed array, and anything else (blank,
 * `NaN`, `1e999`, `abc`) stays text for the coercion to judge, so what is
 * accepted or rejected, and why, does not depend on the reader
 * (`plain_numbers.ts`).
 */
import { createReadStream } from "node:fs";
import { InputError } from "../errors.ts";
import { log } from "../log.ts";
import type { RowBatch, SourceReject } from "../rows.ts";
import { textBytesOf } from "../text_bytes.ts";
import { type CsvRecord, CsvRecords, MORE } from "./csv_records.ts";
import { utf8Text } from "./utf8_text.ts";
import { fileSize, STDIN } from "./file_size.ts";
import type { ReadOptions, Source } from "./source.ts";
import { plainNumbers } from "./plain_numbers.ts";
import { bytesCanSplit, type CsvPlace, CsvStopped } from "./csv_byte_batches.ts";
import { openReaderWorker, type ReaderAhead, type ReaderWorker, startReaderWorker } from "./reader_client.ts";

/**
 * Bytes read (and parsed) at a time. Small on purpose: every field is a slice of its chunk's string, and a kept
 * field keeps its whole chunk alive.
 */
const CHUNK_BYTES = 1 << 16;

/**
 * A CSV file up to this size is read on the job's thread (`csv_records.ts`) rather than from its bytes in a worker:
 * starting the worker takes about as long as the job's thread takes to read a few hundred KiB, so for a smaller file
 * it cannot pay back (a one-row job waited on it for most of its run). Its batches are made as the worker's are (plain
 * numbers as numbers), so either reader gives the same values.
 */
export const IN_PROCESS_MAX_BYTES = 256 << 10;

/**
 * Starts ahead the file reader's worker that opening `path` will take, when the file is too large to read in place
 * (see `startReaderWorker`); nothing for standard input, or a file that is not there (opening it says so).
 *
 * @example
 * ```ts
 * const ahead = await startCsvReader("rides.csv");
 * await ahead?.release();
 * ```
 */
export async function startCsvReader(path: string): Promise<ReaderAhead | undefined> {
  if (path === STDIN) return undefined;
  const size = await fileSize(path).catch(() => 0);
  return size > IN_PROCESS_MAX_BYTES ? startReaderWorker({ duckdb: false }) : undefined;
}

/**
 * Opens a CSV source and reads its header.
 *
 * @example
 * ```ts
 * const source = await openCsvSource("rides.csv");
 * for await (const batch of source.batches({ batchSize: 10_000 })) console.log(batch.length);
 * ```
 */
export async function openCsvSource(
  path: string,
  options: { delimiter?: string; inProcessMaxBytes?: number } = {},
): Promise<Source> {
  const total = await fileSize(path);
  const delimiter = options.delimiter ?? ",";
  const head = openRecords(path, delimiter);
  let header: string[];
  let bytesPerRow: number;
  try {
    const first = await head.records.next();
    if (first === undefined) throw new InputError(`Cannot read CSV file ${path}: it is empty (no header line)`);
    if (first.error !== undefined) {
      throw new InputError(`Cannot read CSV file ${path}: cannot parse its header: ${first.error}`);
    }
    header = first.fields.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, "") : name));
    head.records.width = header.length;
    // The lines read with the header give the bytes a row takes, for the progress of the worker's reading.
    const ahead = head.records.ahead();
    bytesPerRow = (head.records.consumed + ahead.chars) / (1 + ahead.lines);
    const seen = new Set<string>();
    for (const name of header) {
      if (seen.has(name)) {
        throw new InputError(`Cannot read CSV file ${path}: column "${name}" appears twice in the header`);
      }
      seen.add(name);
    }
  } catch (err) {
    head.close();
    throw err;
  }
  // The worker opens the file by its name: standard input, already being read here, it cannot reopen.
  const workerCan = path !== STDIN && bytesCanSplit(delimiter);
  const byWorker = workerCan && total > (options.inProcessMaxBytes ?? IN_PROCESS_MAX_BYTES);
  // Started here, as the Parquet source starts its own: starting the worker is setup, not reading. A worker that
  // cannot start leaves the reading to JavaScript here (past the header it has read), as a row it stops on does.
  const worker = byWorker ? await openReaderWorker({ duckdb: false }).catch(() => undefined) : undefined;
  // Else the header's reader is closed: it holds the file open.
  if (worker) head.close();
  const reading: Reading = {
    rows: 0,
    done: false,
    records: worker ? undefined : head,
    worker,
    closed: false,
    // Read here in place of the worker (a small file): its batches in the worker's form.
    asWorkerGives: workerCan && !byWorker,
  };
  return {
    description: path === STDIN ? "stdin" : path,
    columns: header.map((name) => ({ name, type: "string" })),
    progress: () => ({
      done: reading.done ? total : reading.records
        // What the rows handed out so far span (characters, i.e. bytes for ASCII; fewer for other text, so the
        // fraction never runs ahead), not what the stream read ahead.
        ? Math.min(reading.records.records.consumed, total)
        : Math.min(total, Math.round((reading.rows + 1) * bytesPerRow)),
      total,
    }),
    batches: async function* (options) {
      yield* readBatches(path, delimiter, header, options, reading);
      reading.done = true;
    },
    close: async () => {
      reading.closed = true;
      reading.records?.close();
      await reading.worker?.close();
    },
  };
}

/** How far reading has come, and the JavaScript reader once it reads. */
interface Reading {
  rows: number;
  done: boolean;
  /** The worker reading the file from its bytes (see `reader_worker.ts`), when it reads first; else JavaScript here. */
  worker: ReaderWorker | undefined;
  /** Whether the source is closed. */
  closed: boolean;
  /** Whether JavaScript reads here a file the worker would have read (a small one): batches made as the worker's are. */
  asWorkerGives: boolean;
  records: Records | undefined;
}

interface Records {
  records: CsvRecords;
  close(): void;
}

/** The file's records from `startByte` (0: its header first); `seen` keeps what is read, as bytes and as text. */
function openRecords(
  path: string,
  delimiter: string,
  from: { startByte?: number; seen?: { bytes: Uint8Array[]; texts: string[] } } = {},
): Records {
  // No `start` unless one is asked for: with one, the stream seeks, which standard input cannot.
  const stream = createReadStream(
    path,
    from.startByte === undefined
      ? { highWaterMark: CHUNK_BYTES }
      : { highWaterMark: CHUNK_BYTES, start: from.startByte },
  );
  const seen = from.seen;
  async function* bytes(): AsyncGenerator<Uint8Array> {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) {
      seen?.bytes.push(chunk);
      yield chunk;
    }
  }
  async function* chunks(): AsyncGenerator<string> {
    try {
      for await (const text of utf8Text(bytes())) {
        seen?.texts.push(text);
        yield text;
      }
    } catch (err) {
      throw new InputError(`Cannot read CSV file ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  const records = new CsvRecords(chunks(), delimiter);
  return {
    records,
    close() {
      records.close();
      stream.destroy();
    },
  };
}

/**
 * The worker's reading, then JavaScript's here from the first row the worker did not give: a batch of rows (the one
 * the worker stopped at, rejected or read, and those after it), then the worker reads on after them, and so on.
 */
async function* readBatches(
  path: string,
  delimiter: string,
  header: string[],
  options: ReadOptions,
  reading: Reading,
): AsyncGenerator<RowBatch> {
  if (reading.worker) {
    let start: CsvPlace | undefined;
    for (;;) {
      let stop: CsvPlace;
      try {
        for await (
          const batch of reading.worker.batches({ kind: "csv", path, delimiter, header, options, start })
        ) {
          reading.rows = batch.offset + batch.length;
          yield batch;
        }
        return;
      } catch (err) {
        // Closed under the read (a failed write, a signal): the interrupted read is no ragged row to read on from.
        if (reading.closed) throw err;
        log.debug("CSV: reading on in JavaScript", {
          input: path,
          row: reading.rows + 1,
          reason: String((err as Error).message ?? err).split("\n")[0],
        });
        // Any other failure (the worker lost, ...): JavaScript reads the rest, below.
        if (!(err instanceof CsvStopped)) break;
        stop = err.at;
      }
      const next = yield* judgedBatch(path, delimiter, header, options, stop, reading);
      if (next === undefined) return;
      start = next;
    }
    reading.records = openRecords(path, delimiter);
    reading.records.records.width = header.length;
    // The header, then the rows the worker gave.
    for (let skipped = 0; skipped < reading.rows + 1; skipped++) {
      if ((await reading.records.records.next()) === undefined) return;
    }
  }
  if (!reading.asWorkerGives) {
    yield* recordBatches(reading.records!.records, header, options, reading.rows);
    return;
  }
  for await (const batch of recordBatches(reading.records!.records, header, options, reading.rows)) {
    yield { ...batch, columns: asWorkerGives(batch.columns as Record<string, string[]>, options.numbers) };
  }
}

/**
 * A batch read here from `stop` (where the worker stopped, at a row it leaves to `csv_records.ts`), and where the
 * worker reads on after it; undefined at the end of the file. The batch's text ends where its last record does, at a
 * line break; the worker reads on from that line break in the file's bytes, found by counting line breaks (bytes that
 * are not UTF-8 change the text's length, never its CR and LF).
 */
async function* judgedBatch(
  path: string,
  delimiter: string,
  header: string[],
  options: ReadOptions,
  stop: CsvPlace,
  reading: Reading,
): AsyncGenerator<RowBatch, CsvPlace | undefined> {
  const seen = { bytes: [] as Uint8Array[], texts: [] as string[] };
  const here = openRecords(path, delimiter, { startByte: stop.byte, seen });
  here.records.width = header.length;
  // Its count names rows in its messages: the header and the rows before `stop` are records handed out.
  here.records.count = stop.row + 1;
  try {
    const batches = recordBatches(here.records, header, options, stop.row);
    const first = await batches.next();
    if (first.done) return undefined;
    const batch = first.value;
    reading.rows = stop.row + batch.length + (batch.rejects?.length ?? 0);
    yield batch;
    const judged = seen.texts.join("").slice(0, here.records.consumed);
    // The line break that ended the last record was read to end it: it is among the bytes read (none: the end).
    const after = lineBreakAfter(seen.bytes, judged.match(/[\r\n]/g)?.length ?? 0);
    return after === undefined ? undefined : { byte: stop.byte + after, row: reading.rows };
  } finally {
    here.close();
  }
}

/** Where the line break after `breaks` others is in `chunks` (bytes from their start); undefined past them. */
function lineBreakAfter(chunks: Uint8Array[], breaks: number): number | undefined {
  let at = 0;
  let left = breaks;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== 10 && chunk[i] !== 13) continue;
      if (left-- === 0) return at + i;
    }
    at += chunk.length;
  }
  return undefined;
}

/** Columns as the worker hands them over (reader_worker.ts): text as text, a number column's plain numbers as numbers. */
function asWorkerGives(columns: Record<string, string[]>, numbers: ReadOptions["numbers"]): RowBatch["columns"] {
  const out: RowBatch["columns"] = {};
  for (const [name, texts] of Object.entries(columns)) {
    const number = numbers?.[name];
    out[name] = number === undefined ? texts : plainNumbers(textBytesOf(texts), number);
  }
  return out;
}

async function* recordBatches(
  records: CsvRecords,
  header: string[],
  { batchSize, columns }: ReadOptions,
  firstRow: number,
): AsyncGenerator<RowBatch> {
  const wanted = (columns ?? header).map((name) => ({ name, at: header.indexOf(name) }));
  let row = firstRow;
  for (;;) {
    const cols = wanted.map(() => [] as string[]);
    const rowNumbers: number[] = [];
    const rejects: SourceReject[] = [];
    const offset = row;
    let rec: CsvRecord | undefined | typeof MORE;
    while (rowNumbers.length < batchSize) {
      rec = records.poll();
      if (rec === MORE) rec = await records.next();
      if (rec === undefined) break;
      if (rec.error !== undefined) {
        rejects.push({ row, message: `Cannot parse row ${row + 1}: ${rec.error}`, data: rec.data });
      } else {
        for (let c = 0; c < wanted.length; c++) cols[c].push(rec.fields[wanted[c].at]);
        rowNumbers.push(row);
      }
      row++;
    }
    if (rowNumbers.length === 0 && rejects.length === 0) return;
    yield {
      offset,
      length: rowNumbers.length,
      columns: Object.fromEntries(wanted.map((w, c) => [w.name, cols[c]])),
      rowNumbers: rejects.length > 0 ? rowNumbers : undefined,
      rejects: rejects.length > 0 ? rejects : undefined,
    };
    if (rec === undefined) return;
  }
}
