/**
 * A CSV file's records, parsed in JavaScript from its text as it is read:
 * what the reader of bytes in a worker (`csv_byte_batches.ts`) does not read
 * (a small file, standard input) and a file from the row
 * that reader leaves to it.
 *
 * It reads what that reader reads the same way (a test compares them): fields
 * split by the delimiter, a field in quotes (spaces around the quotes
 * dropped) may hold delimiters, line breaks and `""` for a quote, a quote
 * inside an unquoted field is text, blank lines are skipped, and empty
 * fields past the header's width are dropped. A line ends at LF, CRLF or a
 * lone CR, wherever they change.
 *
 * A row that breaks the format is rejected alone and reading goes on:
 * - a row on one line (a ragged row, a closing quote followed by text) is
 *   rejected whole;
 * - a row whose quoted field runs past its line and does not come out as a
 *   row of the header's width (its quote never closes, within 16 MiB or
 *   before the end; the quote that closes it is followed by text; the row
 *   it makes has too many or too few fields) is taken for a quote left
 *   open: its first line is rejected and reading restarts at the next one.
 *   A quoted field that spans lines and makes a whole row is a row.
 * A line longer than 16 MiB stops the reading ({@linkcode InputError}).
 */
import { InputError } from "../errors.ts";
import { NOT_UTF8, NOT_UTF8_REASON } from "./utf8_text.ts";

/** A record: its fields, or why it is rejected and the text of its (first) line. */
export type CsvRecord = { fields: string[]; error?: undefined } | { error: string; data: unknown };

/** What {@linkcode CsvRecords.poll} returns when more text must be read first. */
export const MORE: unique symbol = Symbol("more");

/** The longest a record may run, in characters, before its quote is taken for one left open. */
const MAX_RECORD_CHARS = 16 << 20;

const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const UNCLOSED = "unterminated quote";
const OPEN = `${UNCLOSED}: the quote opened on this line`;
/** What `#next` looks for, by index. */
const SOUGHT = ["\n", "\r", '"', NOT_UTF8];
const LF_AT = 0;
const CR_AT = 1;
const QUOTE_AT = 2;
const NOT_UTF8_AT = 3;

/**
 * Where a record's parse ended: its fields, or where and how it broke (a quote that never closes, that does not
 * close within the bound, that closes followed by the character at `at`).
 */
type Parsed =
  | { fields: string[]; end: number }
  | { broken: "unclosed" | "long" | "after"; at: number }
  | typeof MORE;

/**
 * Pulls records from text chunks, one at a time.
 *
 * @example
 * ```ts
 * const records = new CsvRecords(["a,b\n1,", '"x\ny"\n'].values(), ",");
 * await records.next(); // { fields: ["a", "b"] }
 * records.width = 2;
 * await records.next(); // { fields: ["1", "x\ny"] }
 * ```
 */
export class CsvRecords {
  /** The header's width: once set, a record of another width is rejected. */
  width: number | undefined;
  /** Characters of the input the records handed out span. */
  consumed = 0;
  /** Records handed out (the header is the first). */
  count = 0;
  #chunks: Iterator<string> | AsyncIterator<string>;
  #delimiter: string;
  #maxChars: number;
  #buf = "";
  /** Where the next record starts in `#buf`. */
  #pos = 0;
  /** Characters of the input before `#buf`. */
  #base = 0;
  #eof = false;
  #closed = false;
  /** For `#next`: where an LF, a CR and a quote were last looked for from, and found (-1: not since a fill). */
  #from = [-1, -1, -1, -1];
  #found = [-1, -1, -1, -1];

  constructor(
    chunks: Iterator<string> | AsyncIterator<string>,
    delimiter: string,
    options: { maxRecordChars?: number } = {},
  ) {
    if (delimiter === "" || /[\r\n"]/.test(delimiter)) {
      throw new Error(`Cannot split CSV by ${JSON.stringify(delimiter)}`);
    }
    this.#chunks = chunks;
    this.#delimiter = delimiter;
    this.#maxChars = options.maxRecordChars ?? MAX_RECORD_CHARS;
  }

  /** Characters read and not yet handed out as records, and the lines among them: for an estimate of a row's size. */
  ahead(): { chars: number; lines: number } {
    const text = this.#buf.slice(this.#pos);
    return { chars: text.length, lines: text.match(/\r\n?|\n/g)?.length ?? 0 };
  }

  /** The next record, or undefined at the end. */
  async next(): Promise<CsvRecord | undefined> {
    for (;;) {
      const record = this.poll();
      if (record !== MORE) return record;
      await this.#fill();
    }
  }

  /** The next record when its text is already read (no wait), else {@linkcode MORE}: `next` reads on. */
  poll(): CsvRecord | undefined | typeof MORE {
    if (this.#closed) return undefined;
    const buf = this.#buf;
    let start = this.#pos;
    for (let c = buf.charCodeAt(start); c === LF || c === CR; c = buf.charCodeAt(++start));
    this.#pos = start;
    if (start === buf.length) return this.#eof ? undefined : MORE;
    const lineEnd = this.#lineEnd(start);
    if (lineEnd - start > this.#maxChars) {
      throw new InputError(
        `Cannot parse row ${this.count}: its line runs on for more than ${this.#maxChars >> 20} MiB`,
      );
    }
    if (lineEnd === buf.length && !this.#eof) return MORE;
    const parsed = this.#next(QUOTE_AT, start) >= lineEnd
      ? { fields: buf.slice(start, lineEnd).split(this.#delimiter), end: lineEnd }
      : this.#parseQuoted(start);
    if (parsed === MORE) return MORE;
    let record: CsvRecord;
    let end = lineEnd;
    if ("broken" in parsed) {
      record = { error: this.#brokenQuote(parsed.broken, parsed.at, lineEnd), data: buf.slice(start, lineEnd) };
    } else if (this.width !== undefined && !fits(parsed.fields, this.width)) {
      const fields = `${parsed.fields.length} fields, the header has ${this.width}`;
      // A row over several lines that does not fit: its quote was more likely left open than the row ragged.
      record = parsed.end > lineEnd
        ? { error: `${OPEN} closes on a later line, into a row of ${fields}`, data: buf.slice(start, lineEnd) }
        : { error: `it has ${fields}`, data: parsed.fields };
      if (parsed.end <= lineEnd) end = parsed.end;
    } else if (this.#next(NOT_UTF8_AT, start) < parsed.end) {
      // Bytes that are not UTF-8 (see utf8_text.ts): the row would go on with changed text.
      record = { error: NOT_UTF8_REASON, data: buf.slice(start, parsed.end).replaceAll(NOT_UTF8, "\uFFFD") };
      end = parsed.end;
    } else {
      record = { fields: parsed.fields };
      end = parsed.end;
    }
    this.#pos = end;
    this.consumed = this.#base + end;
    this.count++;
    return record;
  }

  /** Stops reading: `next` gives no more records. */
  close(): void {
    this.#closed = true;
  }

  /** Why a record with a broken quote is rejected; one broken past its first line is rejected for that line. */
  #brokenQuote(broken: "unclosed" | "long" | "after", at: number, lineEnd: number): string {
    const after = `followed by ${JSON.stringify(this.#buf[at])}`;
    if (at <= lineEnd) {
      return broken === "after" ? `a closing quote is ${after} (a quote inside quotes is "")` : UNCLOSED;
    }
    if (broken === "unclosed") return `${OPEN} never closes`;
    if (broken === "long") return `${OPEN} does not close within ${this.#maxChars >> 20} MiB`;
    return `${OPEN} closes on a later line, ${after}`;
  }

  /** A record with a quote on its first line, from `start`: its fields and end, where it broke, or MORE. */
  #parseQuoted(start: number): Parsed {
    const buf = this.#buf;
    const delimiter = this.#delimiter;
    const fields: string[] = [];
    const more = (): Parsed => {
      if (buf.length - start > this.#maxChars) return { broken: "long", at: buf.length };
      return MORE;
    };
    let i = start;
    for (;;) {
      let j = i;
      while (buf.charCodeAt(j) === SPACE) j++;
      if (buf.charCodeAt(j) !== QUOTE) {
        const lineEnd = this.#lineEnd(i);
        if (lineEnd === buf.length && !this.#eof) return more();
        const d = buf.indexOf(delimiter, i);
        if (d >= 0 && d < lineEnd) {
          fields.push(buf.slice(i, d));
          i = d + delimiter.length;
          continue;
        }
        fields.push(buf.slice(i, lineEnd));
        return { fields, end: lineEnd };
      }
      let value = "";
      let k = j + 1;
      for (;;) {
        const q = buf.indexOf('"', k);
        if (q - start > this.#maxChars) return { broken: "long", at: q };
        if (q < 0) {
          return this.#eof && buf.length - start <= this.#maxChars ? { broken: "unclosed", at: buf.length } : more();
        }
        if (q + 1 === buf.length && !this.#eof) return more();
        if (buf.charCodeAt(q + 1) === QUOTE) {
          value += buf.slice(k, q + 1);
          k = q + 2;
          continue;
        }
        value += buf.slice(k, q);
        k = q + 1;
        break;
      }
      while (buf.charCodeAt(k) === SPACE) k++;
      if (k === buf.length && !this.#eof) return more();
      fields.push(value);
      const c = buf.charCodeAt(k);
      if (k === buf.length || c === LF || c === CR) return { fields, end: k };
      if (buf.startsWith(delimiter, k)) {
        i = k + delimiter.length;
        continue;
      }
      return { broken: "after", at: k };
    }
  }

  /** The first CR or LF at or after `from`, or the buffer's length. */
  #lineEnd(from: number): number {
    return Math.min(this.#next(LF_AT, from), this.#next(CR_AT, from));
  }

  /**
   * The first of a character at or after `from`, or the buffer's length. Remembered with where it was looked for
   * from, so that looking for a character the text lacks (a CR in an LF file) scans the buffer once, not once a line.
   */
  #next(which: number, from: number): number {
    const found = this.#found[which];
    if (found >= from && this.#from[which] <= from) return found;
    let at = this.#buf.indexOf(SOUGHT[which], from);
    if (at < 0) at = this.#buf.length;
    this.#from[which] = from;
    this.#found[which] = at;
    return at;
  }

  /** Reads on: a chunk, or (while one record needs more) twice what it had, so a long record is parsed a few times. */
  async #fill(): Promise<void> {
    const kept = this.#buf.length - this.#pos;
    const want = Math.max(2 * kept, 1);
    const parts = [this.#buf.slice(this.#pos)];
    let got = kept;
    while (got < want) {
      const r = await this.#chunks.next();
      if (this.#closed) return;
      if (r.done) {
        this.#eof = true;
        break;
      }
      parts.push(r.value);
      got += r.value.length;
    }
    this.#base += this.#pos;
    this.#buf = parts.join("");
    this.#pos = 0;
    this.#found.fill(-1);
  }
}

/** Whether `fields` make a row of `width`: empty fields past it are dropped (a line ending in a delimiter). */
function fits(fields: string[], width: number): boolean {
  if (fields.length === width) return true;
  if (fields.length < width) return false;
  for (let i = width; i < fields.length; i++) if (fields[i] !== "") return false;
  fields.length = width;
  return true;
}
