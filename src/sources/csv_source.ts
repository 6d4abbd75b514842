/**
 * Reads a CSV file with a header line, streaming. DuckDB parses it in
 * parallel; papaparse reads any file DuckDB stops on (a ragged row, an
 * unterminated quote, bytes that are not UTF-8), from the row where it
 * stopped, so such rows are rejected alone with their row numbers.
 *
 * Values stay text and the model's coercion types them, except the columns
 * the caller will read as numbers (`ReadOptions.numbers`): there a plain
 * decimal comes as a number, in a typed array, and anything else (blank,
 * `NaN`, `1e999`, `abc`) stays text for the coercion to judge, so what is
 * accepted or rejected, and why, does not depend on the reader.
 *
 * papaparse pushes chunks, so it is paused while two parsed chunks wait,
 * which bounds memory.
 */
// @ts-types="@types/papaparse"
import Papa from "papaparse";
import { createReadStream, type ReadStream } from "node:fs";
import { type DuckDB, openDuckDB, sqlName, sqlString } from "../duckdb/duckdb.ts";
import { InputError } from "../errors.ts";
import { log } from "../log.ts";
import type { RowBatch, SourceReject } from "../rows.ts";
import { duckdbBatches, endMarked } from "./duckdb_batches.ts";
import { fileSize, STDIN } from "./file_size.ts";
import type { NumberType, ReadOptions, Source } from "./source.ts";

/**
 * Bytes read (and parsed) at a time. Small on purpose: every field is a slice of its chunk's string, and a kept
 * field keeps its whole chunk alive (1 MiB reads doubled the peak RSS of a 1M-row job).
 */
const CHUNK_BYTES = 1 << 16;
/**
 * The longest a record may run: a stray quote would otherwise make the rest
 * of the file one record, held in memory and parsed again with every chunk.
 */
const MAX_RECORD_BYTES = 16 << 20;
const MAX_CHUNKS_PER_RECORD = MAX_RECORD_BYTES / CHUNK_BYTES;

/**
 * The bytes DuckDB reads at a time: a sixteenth of its default (32 MiB). Each buffer is fresh memory, and on a
 * virtual machine every page of it costs a page fault: 2 MiB buffers took a sixth fewer faults and ~10% less CPU
 * than 8 MiB ones on 5M rows (8 MiB had been ~7% faster than 32). The first rows also come sooner.
 */
const DUCKDB_BUFFER_BYTES = 2 << 20;
/**
 * The longest row DuckDB reads: its whole buffer, about its default (2 MB). A longer row stops it, and papaparse
 * reads on from there, as it does after a ragged row.
 */
const DUCKDB_MAX_LINE_BYTES = DUCKDB_BUFFER_BYTES;

/**
 * How DuckDB tells the text it turns into the same number the model's coercion (JavaScript) does, cheaper than a
 * regular expression (that was a fifth of DuckDB's work): an integer is plain when DuckDB prints it back as the
 * same text (`007` and `+7` go to the coercion as text); a decimal when DuckDB casts it to a finite number, save
 * the texts DuckDB alone reads as numbers (`1_000`, `+-1`). `tests/sources/csv_numbers_test.ts` holds DuckDB to
 * this on every short text of digits, signs, points, exponents, spaces and other characters numbers are written
 * with.
 */
const PLAIN_NUMBER: Record<NumberType, { sqlType: string; plain: (cast: string, text: string) => string }> = {
  float64: { sqlType: "DOUBLE", plain: plainDecimal },
  float32: { sqlType: "DOUBLE", plain: plainDecimal },
  int64: { sqlType: "BIGINT", plain: plainInteger },
  int32: { sqlType: "INTEGER", plain: plainInteger },
};

function plainInteger(cast: string, text: string): string {
  return `coalesce(cast(${cast} as VARCHAR) = ${text}, false)`;
}

function plainDecimal(cast: string, text: string): string {
  return `coalesce(isfinite(${cast}) and not contains(${text}, '_') and not contains(${text}, '+-'), false)`;
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
export async function openCsvSource(path: string, options: { delimiter?: string } = {}): Promise<Source> {
  const total = await fileSize(path);
  const delimiter = options.delimiter ?? ",";
  const head = openRecords(path, delimiter);
  let header: string[];
  let bytesPerRow: number;
  try {
    const first = await head.records.next();
    if (first === undefined) throw new InputError(`Cannot read CSV file ${path}: it is empty (no header line)`);
    header = first.fields.map((name, i) => (i === 0 ? name.replace(/^\uFEFF/, "") : name));
    // What papaparse has parsed so far (not what the stream read ahead of it) gives the bytes a row takes, for the
    // progress of DuckDB's reading.
    bytesPerRow = head.records.parsedChars / Math.max(1, head.records.parsed);
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
  // To DuckDB a blank line of a one-column file is a row with an empty value; papaparse skips it, like every
  // blank line. DuckDB opens the file by its name: standard input, already being read here, it cannot reopen.
  const byDuckDB = header.length > 1 && path !== STDIN;
  // Opened here, as the Parquet source opens its own: loading the library is setup, not reading. A DuckDB that
  // cannot open leaves the reading to papaparse (past the header it has read), as a file DuckDB stops on does.
  const duckdb = byDuckDB ? await openDuckDB().catch(() => undefined) : undefined;
  // Else the header's reader is closed: a parser left open would go on reading (and holding) the file.
  if (duckdb) head.close();
  const reading: Reading = { rows: 0, done: false, papaparse: duckdb ? undefined : head, duckdb };
  return {
    description: path === STDIN ? "stdin" : path,
    columns: header.map((name) => ({ name, type: "string" })),
    progress: () => ({
      done: reading.done ? total : reading.papaparse
        // What the rows handed out so far span (characters, i.e. bytes for ASCII; fewer for other text, so the
        // fraction never runs ahead), not what the stream read ahead.
        ? Math.min(reading.papaparse.records.consumed, total)
        : Math.min(total, Math.round((reading.rows + 1) * bytesPerRow)),
      total,
    }),
    batches: async function* (options) {
      yield* readBatches(path, delimiter, header, options, reading);
      reading.done = true;
    },
    close: async () => {
      reading.papaparse?.close();
      const duckdb = reading.duckdb;
      reading.duckdb = undefined;
      await duckdb?.close();
    },
  };
}

/** How far reading has come, and papaparse's reader once it reads. */
interface Reading {
  rows: number;
  done: boolean;
  /** The database DuckDB reads with, until the source is closed; none when papaparse reads from the start. */
  duckdb: DuckDB | undefined;
  papaparse: Records | undefined;
}

interface Records {
  stream: ReadStream;
  records: RecordQueue;
  close(): void;
}

function openRecords(path: string, delimiter: string): Records {
  // Decoded by the stream, which keeps a character split between two reads whole (papaparse would decode each
  // read alone and turn such a character into U+FFFD).
  const stream = createReadStream(path, { encoding: "utf8", highWaterMark: CHUNK_BYTES });
  const records = new RecordQueue(stream, path, delimiter);
  return {
    stream,
    records,
    close() {
      records.abort();
      stream.destroy();
    },
  };
}

/** DuckDB's reading, then papaparse's from the first row DuckDB did not give. */
async function* readBatches(
  path: string,
  delimiter: string,
  header: string[],
  options: ReadOptions,
  reading: Reading,
): AsyncGenerator<RowBatch> {
  if (reading.duckdb) {
    try {
      yield* duckdbCsvBatches(reading.duckdb, path, delimiter, header, options, (rows) => (reading.rows = rows));
      return;
    } catch (err) {
      // Closed under the read (a failed write, a signal): the interrupted query is no ragged row to read on from.
      if (reading.duckdb === undefined) throw err;
      log.debug("CSV: reading on in JavaScript", {
        input: path,
        row: reading.rows + 1,
        reason: String((err as Error).message ?? err).split("\n")[0],
      });
    }
    reading.papaparse = openRecords(path, delimiter);
    // The header, then the rows DuckDB gave.
    for (let skipped = 0; skipped < reading.rows + 1; skipped++) {
      if ((await reading.papaparse.records.next()) === undefined) return;
    }
  }
  yield* papaparseBatches(reading.papaparse!.records, header, options, reading.rows);
}

async function* duckdbCsvBatches(
  db: DuckDB,
  path: string,
  delimiter: string,
  header: string[],
  { batchSize, columns, numbers }: ReadOptions,
  onRows: (rows: number) => void,
): AsyncGenerator<RowBatch> {
  const wanted = columns ?? header;
  const file = `read_csv(${sqlString(path)}, header = true, auto_detect = false, columns = {${
    header.map((n) => `${sqlString(n)}: 'VARCHAR'`).join(", ")
  }}, delim = ${
    sqlString(delimiter)
  }, quote = '"', escape = '"', strict_mode = true, null_padding = false, buffer_size = ${DUCKDB_BUFFER_BYTES}, max_line_size = ${DUCKDB_MAX_LINE_BYTES})`;
  // A number column is read twice: its plain numbers (null elsewhere) and its other values' text (null elsewhere).
  const inner: string[] = [];
  const outer: string[] = [];
  const selected: string[] = [];
  wanted.forEach((name, c) => {
    const text = sqlName(`t${c}`);
    inner.push(`${sqlName(name)} as ${text}`);
    const number = numbers?.[name];
    if (number === undefined) {
      outer.push(`coalesce(${text}, '') as ${sqlName(`v${c}`)}`);
      selected.push(`v${c}`);
      return;
    }
    const { sqlType, plain } = PLAIN_NUMBER[number];
    const cast = sqlName(`c${c}`);
    inner.push(`try_cast(${sqlName(name)} as ${sqlType}) as ${cast}`);
    const isPlain = plain(cast, text);
    outer.push(`case when ${isPlain} then ${cast} end as ${sqlName(`v${c}`)}`);
    outer.push(`case when ${isPlain} then null else coalesce(${text}, '') end as ${sqlName(`x${c}`)}`);
    selected.push(`v${c}`, `x${c}`);
  });
  const sql = `select ${outer.join(", ")} from (select ${inner.join(", ")} from ${file})`;
  // A stream that fails midway (a ragged row) ends as if it were done: its last row marks its end, and a stream
  // that ends without it sends the reading on to papaparse.
  for await (
    const batch of duckdbBatches(db.connection, endMarked(sql, selected), selected, batchSize, {
      onRows,
      endMarked: true,
    })
  ) {
    const out: Record<string, ArrayLike<unknown>> = {};
    wanted.forEach((name, c) => {
      const values = batch.columns[`v${c}`];
      const text = batch.columns[`x${c}`];
      out[name] = text === undefined ? values : withText(values, text);
    });
    yield { offset: batch.offset, length: batch.length, columns: out };
  }
}

/** The numbers where there are numbers, the text elsewhere: typed as it is when every value is a number. */
function withText(numbers: ArrayLike<unknown>, text: ArrayLike<unknown>): ArrayLike<unknown> {
  if (ArrayBuffer.isView(numbers)) return numbers;
  return Array.from(numbers, (n, i) => (n === null ? text[i] : n));
}

async function* papaparseBatches(
  records: RecordQueue,
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
    let rec: ParsedRecord | undefined;
    while (rowNumbers.length < batchSize && (rec = await records.next()) !== undefined) {
      if (rec.error !== undefined) {
        rejects.push({ row, message: `Cannot parse row ${row + 1}: ${rec.error}`, data: rec.fields });
      } else if (rec.fields.length !== header.length) {
        rejects.push({
          row,
          message: `Cannot parse row ${row + 1}: it has ${rec.fields.length} fields, the header has ${header.length}`,
          data: rec.fields,
        });
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

interface ParsedRecord {
  fields: string[];
  /** Why the record is malformed (an unterminated quote, ...). */
  error?: string;
}

/** Turns papaparse's pushed chunks into records pulled one at a time. */
class RecordQueue {
  #chunks: ParsedRecord[][] = [];
  /** Where each chunk of `#chunks` ends in the input, in characters. */
  #ends: number[] = [];
  /** Where the records handed out so far end in the input, in characters. */
  consumed = 0;
  #at = 0;
  #done = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;
  #parser: Papa.Parser | undefined;
  #paused = false;
  /** Records parsed so far (the header is the first). */
  #records = 0;

  /** Where the records parsed so far end in the input, in characters. */
  get parsedChars(): number {
    return this.#ends.at(-1) ?? this.consumed;
  }

  /** Records parsed so far, the header included. */
  get parsed(): number {
    return this.#records;
  }
  #emptyChunks = 0;

  constructor(stream: ReadStream, path: string, delimiter: string) {
    stream.on(
      "error",
      (err) => this.#fail(new InputError(`Cannot read CSV file ${path}: ${err.message}`, { cause: err })),
    );
    Papa.parse(stream as unknown as File, {
      delimiter,
      skipEmptyLines: true,
      chunkSize: CHUNK_BYTES,
      chunk: (results, parser) => {
        this.#emptyChunks = results.data.length === 0 ? this.#emptyChunks + 1 : 0;
        if (this.#emptyChunks > MAX_CHUNKS_PER_RECORD) {
          parser.abort();
          this.#fail(
            new InputError(
              `Cannot parse row ${this.#records}: it runs on for more than ${MAX_RECORD_BYTES >> 20} MiB ` +
                `(a quote that is never closed?)`,
            ),
          );
          return;
        }
        this.#records += results.data.length;
        const bad = new Map(results.errors.filter((e) => e.row !== undefined).map((e) => [e.row!, e.message]));
        this.#chunks.push((results.data as string[][]).map((fields, i) => ({ fields, error: bad.get(i) })));
        this.#ends.push(results.meta.cursor);
        if (this.#chunks.length >= 2) {
          this.#parser = parser;
          this.#paused = true;
          parser.pause();
        }
        this.#notify();
      },
      complete: () => {
        this.#done = true;
        this.#notify();
      },
      error: (err: Error) => this.#fail(new InputError(`Cannot read CSV file ${path}: ${err.message}`, { cause: err })),
    });
  }

  /** The next record, or undefined at the end. */
  async next(): Promise<ParsedRecord | undefined> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const chunk = this.#chunks[0];
      if (chunk !== undefined) {
        if (this.#at < chunk.length) return chunk[this.#at++];
        this.#chunks.shift();
        this.consumed = this.#ends.shift() ?? this.consumed;
        this.#at = 0;
        if (this.#paused && this.#chunks.length < 2) {
          this.#paused = false;
          this.#parser!.resume();
        }
        continue;
      }
      if (this.#done) return undefined;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  abort() {
    this.#done = true;
    this.#parser?.abort();
    this.#notify();
  }

  #fail(err: Error) {
    this.#failure ??= err;
    this.#notify();
  }

  #notify() {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
