/**
 * The CSV bytes of a batch, column by column: a number column of a typed
 * array prints its numbers as they are (`String(v)`), a column holding one
 * value on every row of the batch (the model's name) is printed once, and a
 * field is quoted only when it holds a quote, a comma or a line break (as
 * RFC 4180, and csv-stringify, do). No input or output: the CSV sink runs
 * them in its writer worker (files) or in place (standard output), each
 * with the buffer it reuses.
 */
import type { ValueType } from "../rows.ts";
import { bytesBehind, type TextBytes } from "../text_bytes.ts";
import { cellText } from "../value_codec.ts";

/**
 * A column as the text is made from it: its values; or, when every value is a string, their text joined and where
 * each ends (a worker receives one string far faster than thousands); or the one cell every row holds.
 */
export type CsvColumn =
  | { values: ArrayLike<unknown> }
  | { joined: string; ends: Int32Array<ArrayBuffer> }
  | { utf8: Uint8Array<ArrayBuffer>; ends: Int32Array<ArrayBuffer> }
  | { same: string };

/**
 * A batch column for {@linkcode csvBytes}: `{ same }` when every row holds the same value (found by identity, a
 * cheap check), else the values; with `join`, strings joined, or, for strings decoded from ASCII bytes (a file
 * reader's text), a copy of those bytes (a null is the empty text, as it prints).
 *
 * @example
 * ```ts
 * csvColumn(["m", "m"], "string", 2); // { same: "m" }
 * csvColumn(new Float64Array([1.5, 2]), "float64", 2); // { values: Float64Array [1.5, 2] }
 * csvColumn(["a", "bc"], "string", 2, { join: true }); // { joined: "abc", ends: Int32Array [1, 3] }
 * ```
 */
export function csvColumn(
  values: ArrayLike<unknown>,
  type: ValueType,
  length: number,
  options: { join?: boolean } = {},
): CsvColumn {
  if (ArrayBuffer.isView(values) && NUMBER_TYPES.has(type)) return { values };
  const first = values[0];
  let r = 1;
  while (r < length && values[r] === first) r++;
  if (r === length) return { same: csvField(cellText(first, type)) };
  if (!options.join) return { values };
  const behind = bytesBehind(values);
  if (behind !== undefined && behind.length === length && nullsEmpty(behind)) {
    const end = length === 0 ? 0 : behind.ends[length - 1];
    return { utf8: behind.bytes.slice(0, end), ends: behind.ends.slice(0, length) };
  }
  const ends = new Int32Array(length);
  let end = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (typeof v !== "string") return { values };
    ends[i] = end += v.length;
  }
  return { joined: Array.prototype.join.call(values, ""), ends };
}

/** Whether every null of the column is an empty run of bytes (it prints as the empty text). */
function nullsEmpty(column: TextBytes): boolean {
  const { nulls, ends } = column;
  if (nulls === undefined) return true;
  for (let i = 0; i < column.length; i++) {
    if (nulls[i] === 1 && ends[i] !== (i === 0 ? 0 : ends[i - 1])) return false;
  }
  return true;
}

/**
 * The UTF-8 bytes of `length` rows, each line ending in `\n`, written into `into` and valid until its next use: a
 * reused buffer, where a fresh one a batch was fresh memory (grown when short; let go at the next call when one
 * batch grew it past 16 MiB). Written byte by byte, not made as a string and then encoded: a number's text and a
 * kept text are copied straight in (ASCII, checked once a column for joined text; a file reader's ASCII text as the
 * bytes it was read as), which is far cheaper.
 *
 * @example
 * ```ts
 * const into = { bytes: new Uint8Array(1024) };
 * new TextDecoder().decode(csvBytes([{ values: ["a", "b,c"] }, { same: "m" }], ["string", "string"], 2, into));
 * // 'a,m\n"b,c",m\n'
 * ```
 */
export function csvBytes(
  columns: CsvColumn[],
  types: ValueType[],
  length: number,
  into: { bytes: Uint8Array },
): Uint8Array {
  // The last batch's bytes are no longer needed: a buffer it grew past KEPT_BYTES (long fields) is let go.
  if (into.bytes.length > KEPT_BYTES) into.bytes = new Uint8Array(1 << 20);
  // The columns that hold one value on every row (the model's name and version) are written as one piece of bytes
  // at the end of each line, when they come last.
  let last = columns.length;
  while (last > 1 && "same" in columns[last - 1]) last--;
  const tail = UTF8.encode(columns.slice(last).map((c) => "," + (c as { same: string }).same).join("") + "\n");
  const cells = columns.slice(0, last).map((c, i) => cellWriter(c, types[i]));
  const out = new ByteWriter(into);
  for (let r = 0; r < length; r++) {
    for (let c = 0; c < cells.length; c++) {
      if (c > 0) out.byte(COMMA);
      cells[c](out, r);
    }
    out.bytes(tail);
  }
  return out.written();
}

/** Writes row r's cell of a column. */
type CellWriter = (out: ByteWriter, r: number) => void;

function cellWriter(column: CsvColumn, type: ValueType): CellWriter {
  if ("same" in column) return (out) => out.text(column.same);
  if ("utf8" in column) {
    const { utf8, ends } = column;
    // ASCII (see bytesBehind): text that needs no quotes is copied as it is; any other is a field each.
    if (!needsQuotes(utf8)) return (out, r) => out.copy(utf8, r === 0 ? 0 : ends[r - 1], ends[r]);
    return (out, r) => out.text(csvField(UTF8_IN.decode(utf8.subarray(r === 0 ? 0 : ends[r - 1], ends[r]))));
  }
  if ("joined" in column) {
    const { joined, ends } = column;
    // Text that needs no quotes and is ASCII is copied character by character; any other is a field each.
    if (!NOT_PLAIN.test(joined)) {
      return (out, r) => out.ascii(joined, r === 0 ? 0 : ends[r - 1], ends[r]);
    }
    return (out, r) => out.text(csvField(joined.slice(r === 0 ? 0 : ends[r - 1], ends[r])));
  }
  const values = column.values;
  // A number prints in ASCII.
  if (ArrayBuffer.isView(values) && NUMBER_TYPES.has(type)) {
    return (out, r) => {
      const s = String(values[r]);
      out.ascii(s, 0, s.length);
    };
  }
  return (out, r) => out.text(csvField(cellText(values[r], type)));
}

/** Whether any text holds a quote, a comma or a line break. */
function needsQuotes(utf8: Uint8Array): boolean {
  for (let i = 0; i < utf8.length; i++) {
    const b = utf8[i];
    if (b === QUOTE || b === COMMA || b === LF || b === CR) return true;
  }
  return false;
}

/** The most a reused buffer keeps from one batch to the next. */
const KEPT_BYTES = 16 << 20;
const COMMA = 0x2c;
const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
/** A character that is not ASCII, or one that makes a field quoted. */
const NOT_PLAIN = /[\u0080-\uffff]|[",\r\n]/;
const UTF8 = new TextEncoder();
const UTF8_IN = new TextDecoder();

/** Bytes appended to a buffer that grows (doubling) when short. */
class ByteWriter {
  #into: { bytes: Uint8Array };
  #buf: Uint8Array;
  #at = 0;

  constructor(into: { bytes: Uint8Array }) {
    this.#into = into;
    this.#buf = into.bytes;
  }

  byte(b: number) {
    if (this.#at === this.#buf.length) this.#grow(1);
    this.#buf[this.#at++] = b;
  }

  bytes(b: Uint8Array) {
    this.copy(b, 0, b.length);
  }

  /** Bytes `start` to `end` of `src`. */
  copy(src: Uint8Array, start: number, end: number) {
    if (this.#at + end - start > this.#buf.length) this.#grow(end - start);
    const buf = this.#buf;
    let at = this.#at;
    // A short piece (a line's tail, a kept text) copies faster by hand than through set().
    for (let k = start; k < end; k++) buf[at++] = src[k];
    this.#at = at;
  }

  /** Characters `start` to `end` of `s`, every one ASCII. */
  ascii(s: string, start: number, end: number) {
    if (this.#at + end - start > this.#buf.length) this.#grow(end - start);
    const buf = this.#buf;
    let at = this.#at;
    for (let k = start; k < end; k++) buf[at++] = s.charCodeAt(k);
    this.#at = at;
  }

  /** Any text, as UTF-8. */
  text(s: string) {
    // Three bytes at most for each UTF-16 unit.
    if (this.#at + s.length * 3 > this.#buf.length) this.#grow(s.length * 3);
    this.#at += UTF8.encodeInto(s, this.#buf.subarray(this.#at)).written;
  }

  written(): Uint8Array {
    return this.#buf.subarray(0, this.#at);
  }

  #grow(more: number) {
    const bigger = new Uint8Array(Math.max(2 * this.#buf.length, this.#at + more, 1024));
    bigger.set(this.#buf.subarray(0, this.#at));
    this.#buf = this.#into.bytes = bigger;
  }
}

/**
 * The header line.
 *
 * @example
 * ```ts
 * csvHeader(["ride_id", "duration"]); // "ride_id,duration\n"
 * ```
 */
export function csvHeader(names: string[]): string {
  return names.map(csvField).join(",") + "\n";
}

/**
 * A field, quoted when it holds a quote, a comma or a line break.
 *
 * @example
 * ```ts
 * csvField('say "hi"'); // '"say ""hi"""'
 * ```
 */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The types whose typed-array values print as `String(v)` does. */
const NUMBER_TYPES = new Set<ValueType>([
  "float64",
  "float32",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
]);
