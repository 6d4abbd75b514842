/**
 * Writes rows as JSON lines, to a file (through a temporary one) or, for
 * `-`, to standard output.
 */
import type { ColumnInfo, RowBatch } from "../rows.ts";
import { type AtomicFile, createAtomicFile } from "./atomic_file.ts";
import { jsonText, jsonValue } from "../value_codec.ts";
import { writeAll } from "./write_all.ts";
import type { Sink } from "./sink.ts";

/**
 * A JSON-lines sink; `path` `-` is standard output.
 *
 * @example
 * ```ts
 * const sink = createJsonlSink("-");
 * ```
 */
export function createJsonlSink(path: string): Sink {
  let out: AtomicFile | undefined;
  let columns: ColumnInfo[] = [];
  const encoder = new TextEncoder();
  const target = () => (path === "-" ? Deno.stdout : out!.file);
  return {
    description: path === "-" ? "stdout" : path,
    async open(cols) {
      columns = cols;
      if (path !== "-") out = await createAtomicFile(path);
    },
    async write(batch: RowBatch) {
      const data = columns.map((c) => batch.columns[c.name]);
      let text = "";
      for (let r = 0; r < batch.length; r++) {
        const row: Record<string, unknown> = {};
        for (let c = 0; c < columns.length; c++) row[columns[c].name] = jsonValue(data[c][r], columns[c].type);
        text += jsonText(row) + "\n";
      }
      await writeAll(target(), encoder.encode(text));
    },
    commit: async () => await out?.commit(),
    abort: async () => await out?.abort(),
  };
}
