/**
 * Reads JSON lines: one object per line. Its columns are the keys of the
 * first 1,000 objects; a line that is not a JSON object is rejected alone.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { parseJson } from "../value_codec.ts";
import type { RowBatch, SourceReject } from "../rows.ts";
import { fileSize } from "./file_size.ts";
import type { ReadOptions, Source } from "./source.ts";

/** Lines read ahead to find the columns. */
const LOOKAHEAD_LINES = 1000;

/**
 * Opens a JSON-lines source and reads ahead up to 1,000 lines for the columns.
 *
 * @example
 * ```ts
 * const source = await openJsonlSource("events.jsonl");
 * ```
 */
export async function openJsonlSource(path: string): Promise<Source> {
  const total = await fileSize(path);
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity })[Symbol.asyncIterator]();
  // The columns are the keys seen in the first lines, in order of appearance: a first object without an
  // optional key must not hide that column from the whole job.
  const pending: string[] = [];
  const seen = new Set<string>();
  while (pending.length < LOOKAHEAD_LINES) {
    const r = await lines.next();
    if (r.done) break;
    pending.push(r.value);
    const parsed = tryParse(r.value);
    if (parsed.ok) { for (const key of Object.keys(parsed.value)) seen.add(key); }
  }
  const keys = [...seen];
  return {
    description: path,
    columns: keys.map((name) => ({ name, type: "json" })),
    progress: () => ({ done: stream.bytesRead, total }),
    batches: (options) => readBatches(pending, lines, keys, options),
    close: async () => {
      stream.destroy();
      await Promise.resolve();
    },
  };
}

async function* readBatches(
  pending: string[],
  lines: AsyncIterator<string>,
  keys: string[],
  { batchSize, columns }: ReadOptions,
): AsyncGenerator<RowBatch> {
  const names = columns ?? keys;
  let row = 0;
  let ended = false;
  const nextLine = async () => {
    if (pending.length > 0) return pending.shift();
    const r = await lines.next();
    return r.done ? undefined : r.value;
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
      if (line.trim() === "") continue;
      const parsed = tryParse(line);
      if (parsed.ok) {
        for (let c = 0; c < names.length; c++) cols[c].push(parsed.value[names[c]]);
        rowNumbers.push(row);
      } else {
        rejects.push({ row, message: `Cannot parse row ${row + 1}: ${parsed.error}`, data: line });
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

type Parsed = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

function tryParse(line: string): Parsed {
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
