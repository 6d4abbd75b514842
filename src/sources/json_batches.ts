/**
 * The records of a JSON-lines file (one object per line) or a JSON array of
 * objects, as batches of columns: read on the job's thread for a small file
 * or standard input (`jsonl_source.ts`), or in the file reader's worker
 * (`reader_worker.ts`) for a larger one, by the same code. A line or element
 * that is not a JSON object is rejected alone.
 */
import { createReadStream } from "node:fs";
import { parseJson } from "../value_codec.ts";
import type { RowBatch, SourceReject } from "../rows.ts";
import { NOT_UTF8, NOT_UTF8_REASON, utf8Text } from "./utf8_text.ts";
import type { ReadOptions } from "./source.ts";

/** A JSON file for the reader's worker to read (see {@linkcode jsonFileBatches}): the columns to take. */
export interface JsonRead {
  kind: "json";
  path: string;
  /** The columns, as the source found them in its first records. */
  keys: string[];
  options: ReadOptions;
}

/** A batch, and how far into the file its records reach (characters: bytes for ASCII, fewer otherwise). */
export type JsonBatch = RowBatch & { consumed: number };

/**
 * A JSON file's batches, read from its start (run by `reader_worker.ts`).
 *
 * @example
 * ```ts
 * for await (const batch of jsonFileBatches({ kind: "json", path: "rows.jsonl", keys: ["a"], options: { batchSize: 1_000 } })) batch.columns.a;
 * ```
 */
export async function* jsonFileBatches(read: JsonRead): AsyncGenerator<JsonBatch> {
  const stream = createReadStream(read.path, { highWaterMark: 1 << 20 });
  try {
    const lines = await jsonRecords(utf8Text(stream as AsyncIterable<Uint8Array>));
    const consumed = { chars: 0 };
    for await (const batch of jsonBatches([], lines, read.keys, read.options, consumed)) {
      yield { ...batch, consumed: consumed.chars };
    }
  } finally {
    stream.destroy();
  }
}

/**
 * The batches of `pending` records (read ahead), then of the records still to come from `lines`; `consumed.chars`
 * follows the records handed out.
 *
 * @example
 * ```ts
 * const lines = await jsonRecords(["{\"a\": 1}\n"].values());
 * for await (const batch of jsonBatches([], lines, ["a"], { batchSize: 10 }, { chars: 0 })) batch.columns.a; // [1]
 * ```
 */
export async function* jsonBatches(
  pending: Text[],
  lines: AsyncIterator<Text>,
  keys: string[],
  { batchSize, columns }: ReadOptions,
  consumed: { chars: number },
): AsyncGenerator<RowBatch> {
  const names = columns ?? keys;
  let row = 0;
  let ended = false;
  const nextLine = async () => {
    const r = pending.length > 0 ? { done: false, value: pending.shift()! } : await lines.next();
    if (r.done) return undefined;
    consumed.chars += textOf(r.value).length + 1;
    return r.value;
  };
  while (!ended) {
    const cols = names.map(() => [] as unknown[]);
    const rowNumbers: number[] = [];
    const rejects: SourceReject[] = [];
    const offset = row;
    while (rowNumbers.length < batchSize) {
      const line = await nextLine();
      if (line === undefined) {
        ended = true;
        break;
      }
      if (typeof line === "string" && line.trim() === "") continue;
      const parsed = tryParse(line);
      if (parsed.ok) {
        for (let c = 0; c < names.length; c++) cols[c].push(parsed.value[names[c]]);
        rowNumbers.push(row);
      } else {
        rejects.push({
          row,
          message: `Cannot parse row ${row + 1}: ${parsed.error}`,
          data: textOf(line).replaceAll(NOT_UTF8, "\uFFFD"),
        });
      }
      row++;
    }
    if (rowNumbers.length === 0 && rejects.length === 0) return;
    yield {
      offset,
      length: rowNumbers.length,
      columns: Object.fromEntries(names.map((n, c) => [n, cols[c]])),
      rowNumbers: rejects.length > 0 ? rowNumbers : undefined,
      rejects: rejects.length > 0 ? rejects : undefined,
    };
  }
}

/**
 * The texts of the records: lines, or the elements of a JSON array when the text starts with `[`.
 *
 * @example
 * ```ts
 * const records = await jsonRecords(['[{"a": 1}, {"a": 2}]'].values());
 * await records.next(); // { value: '{"a": 1}', done: false }
 * ```
 */
export async function jsonRecords(chunks: AsyncIterator<string> | Iterator<string>): Promise<AsyncIterator<Text>> {
  const head: string[] = [];
  let first: string | undefined;
  while (first === undefined) {
    const r = await chunks.next();
    if (r.done) break;
    head.push(r.value);
    first = r.value.match(/\S/)?.[0];
  }
  async function* all() {
    yield* head;
    for (let r = await chunks.next(); !r.done; r = await chunks.next()) yield r.value;
  }
  return first === "[" ? arrayElements(all()) : linesOf(all());
}

async function* linesOf(chunks: AsyncIterable<string>): AsyncGenerator<string> {
  let rest = "";
  let first = true;
  for await (const chunk of chunks) {
    // A byte order mark is not part of the first line (the CSV reader drops it too).
    const text = first && chunk.startsWith("\uFEFF") ? chunk.slice(1) : chunk;
    first = false;
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    for (const line of parts) yield line.endsWith("\r") ? line.slice(0, -1) : line;
  }
  if (rest !== "") yield rest;
}

/** `head`, then the chunks still to come. */
async function* rest(head: string, chunks: AsyncIterable<string>): AsyncGenerator<string> {
  yield head;
  yield* chunks;
}

/**
 * The text of each element of a JSON array, one at a time, so memory holds
 * one element however long the array. (JSON.parse needs the whole text; a
 * streaming JSON parser would round integers beyond 2^53, which parseJson
 * keeps exact, so this only finds the element boundaries.)
 */
async function* arrayElements(chunks: AsyncIterable<string>): AsyncGenerator<Text> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let current = "";
  for await (const chunk of chunks) {
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === "\\") escaped = true;
        else if (ch === '"') inString = false;
      } else if (ch === '"') {
        inString = true;
      } else if (ch === "[" || ch === "{") {
        if (++depth === 1) [current, from] = ["", i + 1];
      } else if (ch === "]" || ch === "}") {
        if (--depth === 0) {
          const last = (current + chunk.slice(from, i)).trim();
          if (last !== "") yield last;
          // Text after the array (a second array, a stray object) is not dropped: each of its lines is rejected.
          for await (const line of linesOf(rest(chunk.slice(i + 1), chunks))) {
            yield line.trim() === "" ? line : { text: line, error: "text after the end of the JSON array" };
          }
          return;
        }
      } else if (ch === "," && depth === 1) {
        yield (current + chunk.slice(from, i)).trim();
        [current, from] = ["", i + 1];
      }
    }
    current += chunk.slice(from);
  }
  // An unterminated array: its last, partial element is rejected like any unreadable one.
  if (depth > 0 && current.trim() !== "") yield current.trim();
}

type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

/** A record's text, or a piece of the file that is not one, with why. */
export type Text = string | Unreadable;

/** Text that cannot be a record (it is rejected with `error`). */
interface Unreadable {
  text: string;
  error: string;
}

function textOf(t: Text): string {
  return typeof t === "string" ? t : t.text;
}

/**
 * A record's object, or why it is rejected.
 *
 * @example
 * ```ts
 * tryParse('{"a": 1}'); // { ok: true, value: { a: 1 } }
 * ```
 */
export function tryParse(line: Text): Parsed {
  if (typeof line !== "string") return { ok: false, error: line.error };
  // Bytes that are not UTF-8 (see utf8_text.ts): the row would go on with changed text.
  if (line.includes(NOT_UTF8)) return { ok: false, error: NOT_UTF8_REASON };
  try {
    const value = parseJson(line);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return { ok: true, value: value as Record<string, unknown> };
    }
    return { ok: false, error: "the line is not a JSON object" };
  } catch (err) {
    return { ok: false, error: `the line is not valid JSON (${(err as Error).message})` };
  }
}
