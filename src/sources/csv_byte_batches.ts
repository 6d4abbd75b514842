/**
 * A CSV file's rows read from its bytes, in the file reader's worker
 * (`reader_worker.ts`): text columns stay the file's bytes (`TextBytes`),
 * number columns are read from them (`plainNumbers`), and no string is
 * made on the way. It reads what `csv_records.ts` reads, the same way, but
 * only rows that need no judgement: at the first row that does (a row of
 * another width, a quote that does not close as it should, bytes that are
 * not UTF-8, a line of 16 MiB) it ends with {@linkcode CsvStopped}, which
 * says where that row starts, after the batches before it; the CSV source
 * reads on in JavaScript from there, where `csv_records.ts` rejects or
 * reads it, and may then start this reader again further on (`start`). A
 * test holds both readers to the same rows.
 *
 * What it reads as `csv_records.ts` does: fields split by the delimiter
 * (one byte), a field in quotes (spaces around the quotes dropped) may hold
 * delimiters, line breaks and `""` for a quote, a quote inside an unquoted
 * field is text, blank lines are skipped (they are no rows), empty fields
 * past the header's width are dropped, and a line ends at LF, CR or CRLF.
 */
import { strictUtf8 } from "../strict_utf8.ts";
import type { TextBytes } from "../text_bytes.ts";
import type { ColumnBatch } from "./duckdb_batches.ts";
import { plainNumbers } from "./plain_numbers.ts";
import type { ReadOptions } from "./source.ts";

/** A CSV file to read from its bytes (see {@linkcode csvByteBatches}): its header as read, and what of it to read. */
export interface CsvRead {
  kind: "csv";
  path: string;
  delimiter: string;
  header: string[];
  options: ReadOptions;
  /** Where to start, when not after the header: a record's first byte in the file, and that record's row index. */
  start?: CsvPlace;
}

/** A record's place in a CSV file: its first byte, and its row (0 for the first row after the header). */
export interface CsvPlace {
  byte: number;
  row: number;
}

/**
 * The byte reader stopped at a row it leaves to `csv_records.ts` (every row before it was given).
 *
 * @example
 * ```ts
 * const stop = new CsvStopped("a quote that never closes", { byte: 1_234, row: 56 });
 * stop.message; // "stops at row 57: a quote that never closes"
 * ```
 */
export class CsvStopped extends Error {
  override name = "CsvStopped";
  /** Why it stopped there. */
  readonly why: string;
  /** Where the row it stopped at starts. */
  readonly at: CsvPlace;

  constructor(why: string, at: CsvPlace) {
    super(`stops at row ${at.row + 1}: ${why}`);
    this.why = why;
    this.at = at;
  }
}

/** Bytes read at a time; the buffer grows past it only for a longer record. */
const CHUNK_BYTES = 1 << 20;
/** The longest record read here: a longer one is left to `csv_records.ts`, which says what it makes of it. */
const MAX_RECORD_BYTES = 16 << 20;

const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;

/**
 * Whether {@linkcode csvByteBatches} reads a file split by `delimiter`: one ASCII byte that is no line break, quote
 * or space (a space would be read both as a delimiter and as what is dropped around quotes).
 *
 * @example
 * ```ts
 * bytesCanSplit(","); // true
 * bytesCanSplit("::"); // false
 * ```
 */
export function bytesCanSplit(delimiter: string): boolean {
  return delimiter.length === 1 && delimiter.charCodeAt(0) < 0x80 && !/[\r\n" ]/.test(delimiter);
}

/**
 * A CSV file's rows past its header, read from its bytes; it ends with an error at the first row it leaves to
 * `csv_records.ts`, after the batches before that row.
 *
 * @example
 * ```ts
 * const read: CsvRead = { kind: "csv", path: "rides.csv", delimiter: ",", header: ["ride_id", "trip_distance"], options: { batchSize: 10_000, numbers: { trip_distance: "float64" } } };
 * for await (const batch of csvByteBatches(read)) batch.columns.trip_distance; // Float64Array
 * ```
 */
export async function* csvByteBatches(
  read: CsvRead,
  limits: { chunkBytes?: number; maxRecordBytes?: number } = {},
): AsyncGenerator<ColumnBatch> {
  const { path, delimiter, header, options: { batchSize, columns, numbers } } = read;
  if (!bytesCanSplit(delimiter)) throw new Error(`Cannot split CSV by ${JSON.stringify(delimiter)} from its bytes`);
  const wanted = columns ?? header;
  const at = wanted.map((name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`The CSV file has no column "${name}"`);
    return i;
  });
  const file = await Deno.open(path);
  try {
    if (read.start) await file.seek(read.start.byte, Deno.SeekMode.Start);
    const scanner = new CsvByteScanner(delimiter.charCodeAt(0), header.length, at, batchSize, {
      chunkBytes: limits.chunkBytes ?? CHUNK_BYTES,
      maxRecordBytes: limits.maxRecordBytes ?? MAX_RECORD_BYTES,
    });
    const fill = async (): Promise<void> => {
      const space = scanner.spaceToRead();
      const n = await file.read(space);
      scanner.readInto(n ?? 0, n === null);
    };
    // The header: read and checked by the source already.
    for (;;) {
      if (read.start) break;
      const status = scanner.skipRecord();
      if (status === MORE) await fill();
      // Not a CsvStopped: there is no row to read on from, the source reads the file from its start.
      else if (status === STOP) throw new Error(`stops at the header: ${scanner.why}`);
      else break;
    }
    const first = read.start?.byte ?? 0;
    let offset = read.start?.row ?? 0;
    for (;;) {
      const status = scanner.scan();
      if (status === MORE) {
        await fill();
        continue;
      }
      if (scanner.rows > 0) {
        const length = scanner.rows;
        const texts = scanner.take();
        const out: ColumnBatch["columns"] = {};
        wanted.forEach((name, c) => {
          const number = numbers?.[name];
          out[name] = number === undefined ? texts[c] : plainNumbers(texts[c], number);
        });
        yield { offset, length, columns: out };
        offset += length;
      }
      if (status === STOP) throw new CsvStopped(scanner.why, { byte: first + scanner.recordStart, row: offset });
      if (status === END) return;
    }
  } finally {
    file.close();
  }
}

/** What a scan ended on: a batch full, more bytes needed, a row left to `csv_records.ts`, the end of the file. */
const FULL = 0;
const MORE = 1;
const STOP = 2;
const END = 3;
type Status = typeof FULL | typeof MORE | typeof STOP | typeof END;

/** Not a status: a record whose end is not read yet. */
const PENDING = -1;

const STRICT_UTF8 = strictUtf8({ ignoreBOM: true });

/** The rows of one buffer of the file at a time, into one batch's columns at a time. */
class CsvByteScanner {
  /** Rows in the batch being made. */
  rows = 0;
  /** Why the scan stopped (STOP). */
  why = "";
  #buf: Uint8Array;
  readonly #maxRecordBytes: number;
  /** Where the next record starts. */
  #pos = 0;
  /** Bytes of the file (from where reading started) before `#buf`. */
  #base = 0;
  /** Bytes read into `#buf`. */
  #end = 0;
  #eof = false;
  readonly #delimiter: number;
  readonly #width: number;
  /** For each field of a row, its column in the batch, or -1. */
  readonly #column: Int32Array;
  readonly #batchSize: number;
  /** The current record's fields: start and end of each (in `#buf`), and whether it holds `""`. */
  readonly #starts: Int32Array;
  readonly #ends: Int32Array;
  readonly #escaped: Uint8Array;
  /** The batch's columns: bytes, their length, and each row's end. */
  #bytes: Uint8Array<ArrayBuffer>[] = [];
  #lengths: number[] = [];
  #rowEnds: Int32Array<ArrayBuffer>[] = [];

  constructor(
    delimiter: number,
    width: number,
    at: number[],
    batchSize: number,
    limits: { chunkBytes: number; maxRecordBytes: number },
  ) {
    this.#buf = new Uint8Array(limits.chunkBytes);
    this.#maxRecordBytes = limits.maxRecordBytes;
    this.#delimiter = delimiter;
    this.#width = width;
    this.#column = new Int32Array(width).fill(-1);
    at.forEach((field, c) => (this.#column[field] = c));
    this.#batchSize = batchSize;
    this.#starts = new Int32Array(width);
    this.#ends = new Int32Array(width);
    this.#escaped = new Uint8Array(width);
    this.#newBatch(at.length);
  }

  /** Where the next read goes: after what is not yet scanned, moved to the front, in a buffer grown for a long record. */
  spaceToRead(): Uint8Array {
    const kept = this.#end - this.#pos;
    if (this.#pos > 0) {
      this.#buf.copyWithin(0, this.#pos, this.#end);
      this.#base += this.#pos;
      this.#pos = 0;
      this.#end = kept;
    }
    if (kept === this.#buf.length) {
      const grown = new Uint8Array(2 * this.#buf.length);
      grown.set(this.#buf);
      this.#buf = grown;
    }
    return this.#buf.subarray(this.#end);
  }

  /** Where the next record starts (once blank lines are passed), in bytes from where reading started. */
  get recordStart(): number {
    return this.#base + this.#pos;
  }

  /** `n` bytes were read into the space; `eof` when the file has no more. */
  readInto(n: number, eof: boolean): void {
    this.#end += n;
    this.#eof = eof;
  }

  /** Passes the next record (the header) without reading its fields. */
  skipRecord(): Status {
    const end = this.#record();
    if (end === PENDING) return this.#more();
    if (end < 0) return STOP;
    this.#pos = end;
    return FULL;
  }

  /** Reads records into the batch until it is full, more bytes are needed, a row is left to JavaScript, or the end. */
  scan(): Status {
    while (this.rows < this.#batchSize) {
      const end = this.#record();
      if (end === PENDING) return this.#more();
      if (end === END_OF_FILE) return END;
      if (end < 0) return STOP;
      this.#keep();
      this.#pos = end;
    }
    return FULL;
  }

  /** The batch's text columns; the next batch starts empty. */
  take(): TextBytes[] {
    const out = this.#bytes.map((bytes, c): TextBytes => ({
      kind: "text-bytes",
      length: this.rows,
      bytes: bytes.slice(0, this.#lengths[c]),
      ends: this.#rowEnds[c].length === this.rows ? this.#rowEnds[c] : this.#rowEnds[c].slice(0, this.rows),
    }));
    this.#newBatch(out.length);
    return out;
  }

  #newBatch(columns: number): void {
    this.rows = 0;
    this.#bytes = Array.from({ length: columns }, () => new Uint8Array(this.#batchSize * 8));
    this.#lengths = new Array(columns).fill(0);
    this.#rowEnds = Array.from({ length: columns }, () => new Int32Array(this.#batchSize));
  }

  /** MORE, or STOP for a record longer than this reader takes. */
  #more(): Status {
    if (this.#end - this.#pos >= this.#maxRecordBytes) {
      this.why = `a record runs on for more than ${this.#maxRecordBytes} bytes`;
      return STOP;
    }
    return MORE;
  }

  /** The current record's fields copied into the batch's columns. */
  #keep(): void {
    const buf = this.#buf;
    const row = this.rows++;
    for (let f = 0; f < this.#width; f++) {
      const c = this.#column[f];
      if (c < 0) continue;
      const start = this.#starts[f];
      const end = this.#ends[f];
      let out = this.#bytes[c];
      let length = this.#lengths[c];
      if (length + end - start > out.length) {
        const grown = new Uint8Array(Math.max(2 * out.length, length + end - start));
        grown.set(out.subarray(0, length));
        out = this.#bytes[c] = grown;
      }
      if (this.#escaped[f] === 0) {
        for (let i = start; i < end; i++) out[length++] = buf[i];
      } else {
        for (let i = start; i < end; i++) {
          out[length++] = buf[i];
          // `""` is one quote.
          if (buf[i] === QUOTE) i++;
        }
      }
      this.#lengths[c] = length;
      this.#rowEnds[c][row] = length;
    }
  }

  /**
   * Finds the record at `#pos` (blank lines before it passed over) and its fields: the position after it, PENDING
   * when its end is not read yet, END_OF_FILE, or STOPPED with `why` for a record left to `csv_records.ts`.
   */
  #record(): number {
    const buf = this.#buf;
    const end = this.#end;
    const eof = this.#eof;
    const delimiter = this.#delimiter;
    const width = this.#width;
    let p = this.#pos;
    while (p < end && (buf[p] === LF || buf[p] === CR)) p++;
    this.#pos = p;
    if (p === end) return eof ? END_OF_FILE : PENDING;
    const start = p;
    let high = 0;
    let field = 0;
    for (;;) {
      let q = p;
      while (q < end && buf[q] === SPACE) q++;
      if (q === end && !eof) return PENDING;
      let next: number;
      if (q < end && buf[q] === QUOTE) {
        // A quoted field: to its closing quote, `""` a quote.
        let k = q + 1;
        let escaped = 0;
        for (;;) {
          while (k < end && buf[k] !== QUOTE) high |= buf[k++];
          if (k === end) return eof ? this.#stop("a quote that never closes") : PENDING;
          if (k + 1 === end && !eof) return PENDING;
          // Bytes past `end` are left from an earlier read: never looked at.
          if (k + 1 === end || buf[k + 1] !== QUOTE) break;
          escaped = 1;
          k += 2;
        }
        if (field < width) {
          this.#starts[field] = q + 1;
          this.#ends[field] = k;
          this.#escaped[field] = escaped;
        } else {
          return this.#stop("a quoted field past the header's width");
        }
        k++;
        while (k < end && buf[k] === SPACE) k++;
        if (k === end && !eof) return PENDING;
        next = k;
      } else {
        let k = p;
        let c = 0;
        while (k < end) {
          c = buf[k];
          if (c === delimiter || c === LF || c === CR) break;
          high |= c;
          k++;
        }
        if (k === end && !eof) return PENDING;
        if (field < width) {
          this.#starts[field] = p;
          this.#ends[field] = k;
          this.#escaped[field] = 0;
        } else if (k > p) {
          return this.#stop("more fields than the header");
        }
        next = k;
      }
      field++;
      if (next === end || buf[next] === LF || buf[next] === CR) {
        if (field < width) return this.#stop("fewer fields than the header");
        if (high >= 0x80 && !isUtf8(buf.subarray(start, next))) return this.#stop("bytes that are not UTF-8");
        return next;
      }
      if (buf[next] !== delimiter) return this.#stop("text after a closing quote");
      p = next + 1;
    }
  }

  #stop(why: string): number {
    this.why = why;
    return STOPPED;
  }
}

/** What `#record` returns past the last record, and for a record left to `csv_records.ts`. */
const END_OF_FILE = -2;
const STOPPED = -3;

function isUtf8(bytes: Uint8Array): boolean {
  try {
    STRICT_UTF8(bytes);
    return true;
  } catch {
    return false;
  }
}
