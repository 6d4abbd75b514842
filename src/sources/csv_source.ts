/**
 * Reads a CSV file with a header line, streaming: values stay strings and
 * the model's coercion types them.
 */
import { createReadStream, type ReadStream } from "node:fs";
import { parse } from "csv-parse";
import { InputError } from "../errors.ts";
import type { RowBatch, SourceReject } from "../rows.ts";
import { fileSize } from "./file_size.ts";
import type { ReadOptions, Source } from "./source.ts";

/**
 * Opens a CSV source and reads its header.
 *
 * @example
 * ```ts
 * const source = await openCsvSource("rides.csv");
 * for await (const batch of source.batches({ batchSize: 10_000 })) console.log(batch.length);
 * ```
 */
export async function openCsvSource(path: string): Promise<Source> {
  const total = await fileSize(path);
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const parser = stream.pipe(parse({ relax_column_count: true, bom: true, skip_empty_lines: true }));
  parser.on("error", () => {}); // surfaced by the iterator below
  const records: AsyncIterator<string[]> = parser[Symbol.asyncIterator]();
  const first = await next(records, path);
  if (first === undefined) throw new InputError(`Cannot read CSV file ${path}: it is empty (no header line)`);
  const header = first;
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new InputError(`Cannot read CSV file ${path}: column "${name}" appears twice in the header`);
    seen.add(name);
  }
  return {
    description: path,
    columns: header.map((name) => ({ name, type: "string" })),
    progress: () => ({ done: (stream as ReadStream).bytesRead, total }),
    batches: (options) => readBatches(records, header, path, options),
    close: async () => {
      stream.destroy();
      await Promise.resolve();
    },
  };
}

async function* readBatches(
  records: AsyncIterator<string[]>,
  header: string[],
  path: string,
  { batchSize, columns }: ReadOptions,
): AsyncGenerator<RowBatch> {
  const wanted = (columns ?? header).map((name) => ({ name, at: header.indexOf(name) }));
  let row = 0;
  for (;;) {
    const cols = wanted.map(() => [] as string[]);
    const rowNumbers: number[] = [];
    const rejects: SourceReject[] = [];
    const offset = row;
    let rec: string[] | undefined;
    while (rowNumbers.length < batchSize && (rec = await next(records, path)) !== undefined) {
      if (rec.length !== header.length) {
        rejects.push({
          row,
          message: `Cannot parse row ${row + 1}: it has ${rec.length} fields, the header has ${header.length}`,
          data: rec,
        });
      } else {
        for (let c = 0; c < wanted.length; c++) cols[c].push(rec[wanted[c].at]);
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

async function next(records: AsyncIterator<string[]>, path: string): Promise<string[] | undefined> {
  try {
    const r = await records.next();
    return r.done ? undefined : r.value;
  } catch (err) {
    throw new InputError(`Cannot read CSV file ${path}: ${(err as Error).message}`, { cause: err });
  }
}
