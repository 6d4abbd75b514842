/**
 * A file's bytes as text for the JavaScript readers (CSV, JSON lines),
 * with bytes that are not UTF-8 marked, not hidden. A decoder would turn
 * them into U+FFFD, the same character a file may hold on purpose, and the
 * row would go on changed without a word. Here each run of them becomes
 * {@linkcode NOT_UTF8}, a lone surrogate, which no UTF-8 text decodes to,
 * so a reader can reject exactly the rows that hold one.
 */
import { strictUtf8 } from "../strict_utf8.ts";

/** What bytes that are not UTF-8 become: a lone low surrogate (UTF-8 cannot encode one). */
export const NOT_UTF8 = "\uDFFF";

/** Why a row holding {@linkcode NOT_UTF8} is rejected. */
export const NOT_UTF8_REASON = "it holds bytes that are not UTF-8 (the file must be UTF-8 text)";

const STRICT = strictUtf8({ ignoreBOM: true });
const LENIENT = new TextDecoder("utf-8", { ignoreBOM: true });
const LF = 0x0a;

/**
 * The text of `chunks`, a chunk at a time; a character split between two chunks is kept whole.
 *
 * @example
 * ```ts
 * for await (const text of utf8Text(createReadStream("rides.csv"))) text.includes(NOT_UTF8);
 * ```
 */
export async function* utf8Text(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  let carry: Uint8Array | undefined;
  for await (const chunk of chunks) {
    const bytes = carry === undefined ? chunk : concat(carry, chunk);
    const end = wholeCharacters(bytes);
    carry = end < bytes.length ? bytes.slice(end) : undefined;
    if (end > 0) yield decode(bytes.subarray(0, end));
  }
  // A character cut off by the end of the file is bytes that are not UTF-8.
  if (carry !== undefined) yield decode(carry);
}

/** The UTF-8 text of `bytes`, each line holding a byte that is not UTF-8 with its U+FFFD marked. */
function decode(bytes: Uint8Array): string {
  try {
    return STRICT(bytes);
  } catch {
    // Rare: line by line (a line feed is never part of a character), so only the lines at fault are marked.
    let text = "";
    let start = 0;
    while (start < bytes.length) {
      const lf = bytes.indexOf(LF, start);
      const end = lf < 0 ? bytes.length : lf + 1;
      const line = bytes.subarray(start, end);
      try {
        text += STRICT(line);
      } catch {
        text += LENIENT.decode(line).replaceAll("\uFFFD", NOT_UTF8);
      }
      start = end;
    }
    return text;
  }
}

/** Where the last character of `bytes` that is whole ends (a multi-byte character may be cut off at the end). */
function wholeCharacters(bytes: Uint8Array): number {
  const end = bytes.length;
  // A character is at most 4 bytes: its lead byte is among the last 4.
  for (let i = end - 1; i >= 0 && i >= end - 4; i--) {
    const b = bytes[i];
    if ((b & 0xc0) === 0x80) continue; // a continuation byte
    const length = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return i + length > end ? i : end;
  }
  return end;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
