/**
 * A column of text as UTF-8 bytes end to end: how text leaves DuckDB and
 * crosses from the file reader's worker to the main thread (its buffers
 * move, where an array of strings is copied string by string), and becomes
 * strings once, on the thread that uses them.
 */

/** `length` texts: text i is `bytes` from `ends[i - 1]` (0 for the first) to `ends[i]`; `nulls[i]` is 1 for a null. */
export interface TextBytes {
  kind: "text-bytes";
  length: number;
  bytes: Uint8Array<ArrayBuffer>;
  ends: Int32Array<ArrayBuffer>;
  /** Absent when no text is null. */
  nulls?: Uint8Array<ArrayBuffer>;
}

/**
 * Whether a column is text as bytes.
 *
 * @example
 * ```ts
 * isTextBytes(["a"]); // false
 * ```
 */
export function isTextBytes(column: unknown): column is TextBytes {
  return (column as TextBytes | undefined)?.kind === "text-bytes";
}

/**
 * The texts as strings (null where null). The bytes are decoded at once and cut apart where every one is ASCII; a
 * string each was a decoder call, or a character-by-character concatenation, each.
 *
 * @example
 * ```ts
 * textOf({ kind: "text-bytes", length: 2, bytes: new TextEncoder().encode("ab"), ends: new Int32Array([1, 2]) }); // ["a", "b"]
 * ```
 */
export function textOf(column: TextBytes): (string | null)[] {
  const { length, bytes, ends, nulls } = column;
  const out = new Array<string | null>(length);
  const all = UTF8.decode(bytes);
  // One character a byte: every byte is ASCII (a multi-byte character, or a byte that is not UTF-8, decodes shorter).
  const ascii = all.length === bytes.length;
  let start = 0;
  for (let i = 0; i < length; i++) {
    const end = ends[i];
    if (nulls !== undefined && nulls[i] === 1) out[i] = null;
    else out[i] = ascii ? all.substring(start, end) : UTF8.decode(bytes.subarray(start, end));
    start = end;
  }
  // Only ASCII bytes are the strings' bytes as they are. A byte that is not UTF-8 also reads as one character
  // (U+FFFD); a string of ASCII alone is held one byte a character, where a search for U+FFFD ends at once.
  if (ascii && !all.includes("\uFFFD")) DECODED_FROM.set(out, column);
  return out;
}

/**
 * The bytes {@linkcode textOf} decoded `texts` from, when it made that very array (a batch's columns are never
 * changed once made) of ASCII bytes: a sink that writes text as UTF-8 copies them, where encoding every string again,
 * or joining them to send to a worker, was a large part of a CSV job's work on a text column it keeps.
 *
 * @example
 * ```ts
 * const column = textBytesOf(["a", "b"]);
 * bytesBehind(textOf(column)) === column; // true
 * bytesBehind(["a", "b"]); // undefined
 * ```
 */
export function bytesBehind(texts: ArrayLike<unknown>): TextBytes | undefined {
  return DECODED_FROM.get(texts);
}

/** Each array `textOf` made, and the bytes it was made from. */
const DECODED_FROM = new WeakMap<ArrayLike<unknown>, TextBytes>();

/**
 * Texts as bytes: the inverse of {@linkcode textOf}.
 *
 * @example
 * ```ts
 * textBytesOf(["a", null]); // { kind: "text-bytes", length: 2, bytes: [97], ends: [1, 1], nulls: [0, 1] }
 * ```
 */
export function textBytesOf(texts: readonly (string | null)[]): TextBytes {
  const encoded = texts.map((t) => UTF8_OUT.encode(t ?? ""));
  const bytes = new Uint8Array(encoded.reduce((n, e) => n + e.length, 0));
  const ends = new Int32Array(texts.length);
  let at = 0;
  encoded.forEach((e, i) => {
    bytes.set(e, at);
    ends[i] = at += e.length;
  });
  const nulls = texts.includes(null) ? Uint8Array.from(texts, (t) => (t === null ? 1 : 0)) : undefined;
  return { kind: "text-bytes", length: texts.length, bytes, ends, nulls };
}

/**
 * Texts `start` to `end`, copied.
 *
 * @example
 * ```ts
 * sliceText(column, 0, 1);
 * ```
 */
export function sliceText(column: TextBytes, start: number, end: number): TextBytes {
  const from = start === 0 ? 0 : column.ends[start - 1];
  const ends = column.ends.slice(start, end);
  if (from > 0) { for (let i = 0; i < ends.length; i++) ends[i] -= from; }
  return {
    kind: "text-bytes",
    length: end - start,
    bytes: column.bytes.slice(from, end === 0 ? 0 : column.ends[end - 1]),
    ends,
    nulls: column.nulls?.slice(start, end),
  };
}

/**
 * Texts one after the other, as one column.
 *
 * @example
 * ```ts
 * concatText([a, b]);
 * ```
 */
export function concatText(parts: TextBytes[]): TextBytes {
  if (parts.length === 1) return parts[0];
  let length = 0;
  let size = 0;
  for (const p of parts) {
    length += p.length;
    size += p.bytes.length;
  }
  const bytes = new Uint8Array(size);
  const ends = new Int32Array(length);
  const nulls = parts.some((p) => p.nulls !== undefined) ? new Uint8Array(length) : undefined;
  let row = 0;
  let at = 0;
  for (const p of parts) {
    bytes.set(p.bytes, at);
    for (let i = 0; i < p.length; i++) ends[row + i] = p.ends[i] + at;
    if (p.nulls !== undefined) nulls!.set(p.nulls, row);
    row += p.length;
    at += p.bytes.length;
  }
  return { kind: "text-bytes", length, bytes, ends, nulls };
}

const UTF8 = new TextDecoder();
const UTF8_OUT = new TextEncoder();
