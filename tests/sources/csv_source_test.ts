/**
 * A CSV file is read by DuckDB in a worker, or, when it is small, on the job's thread: both readers hand over the
 * same batches (text, the numbers the model reads, row numbers, rejects), so where a file is read never changes what
 * is scored or written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { coerceColumn } from "../../src/model/coerce.ts";
import type { RowBatch } from "../../src/rows.ts";
import { openCsvSource } from "../../src/sources/csv_source.ts";
import type { ReadOptions } from "../../src/sources/source.ts";
import { tempDir } from "../helpers.ts";

/** Every batch, its typed arrays as plain arrays with their kind named (a typed array and a plain one are told apart). */
async function read(path: string, inProcessMaxBytes: number, options: ReadOptions): Promise<unknown[]> {
  const source = await openCsvSource(path, { inProcessMaxBytes });
  const out: unknown[] = [];
  try {
    for await (const batch of source.batches(options) as AsyncIterable<RowBatch>) {
      out.push({
        // an absent key and one set to undefined are the same to every consumer
        ...Object.fromEntries(Object.entries(batch).filter(([, v]) => v !== undefined)),
        // A number column as the model reads it: a reader gives a plain number as a number or as its text (DuckDB
        // gives text after a row it stops on), the coercion makes the same of either (csv_numbers_test.ts).
        columns: Object.fromEntries(
          Object.entries(batch.columns).map(([name, c]) => {
            const type = options.numbers?.[name];
            if (type === undefined) return [name, [c.constructor.name, Array.from(c)]];
            const { data, failures } = coerceColumn(Array.from(c), type);
            return [name, [Array.from(data as ArrayLike<unknown>), failures]];
          }),
        ),
      });
    }
  } finally {
    await source.close();
  }
  return out;
}

const RIDES = "ride_id,PULocationID,DOLocationID,trip_distance\n" +
  Array.from({ length: 25_000 }, (_, i) => `${i},${1 + (i % 265)},${1 + ((i * 7) % 265)},${(i % 300) / 10}`).join(
    "\n",
  ) +
  "\n";

const CASES: [string, string, ReadOptions][] = [
  ["one ride", "ride_id,PULocationID,DOLocationID,trip_distance\n1,130,205,3.66\n", {
    batchSize: 10,
    numbers: { PULocationID: "int64", DOLocationID: "int64", trip_distance: "float64" },
  }],
  ["25,000 rides in batches of 10,000, some columns", RIDES, {
    batchSize: 10_000,
    columns: ["ride_id", "trip_distance"],
    numbers: { trip_distance: "float32" },
  }],
  ["numbers that are not plain stay text", "id,x,n\n007,1.5,3\n8,,4\n9,abc,5.0\n10,1e999,x\n11,NaN,-2\n12, 2 ,9e99\n", {
    batchSize: 4,
    numbers: { x: "float64", n: "int64" },
  }],
  ['quotes, commas, "" and UTF-8', 'a,b\n"x, y","say ""hi"""\nπ,"two\nlines"\n,\n', { batchSize: 10 }],
  ["a ragged row is rejected alone", "a,b\n1,2\n3\n4,5\n", { batchSize: 10, numbers: { b: "int64" } }],
  ["blank lines are skipped", "a,b\n1,2\n\n3,4\n\n", { batchSize: 10, numbers: { a: "int32" } }],
];

Deno.test("CSV: DuckDB's reading and the in-process one give the same batches", async (t) => {
  await using dir = await tempDir();
  for (const [name, text, options] of CASES) {
    await t.step(name, async () => {
      const path = join(dir.path, "in.csv");
      await Deno.writeTextFile(path, text);
      const byDuckDB = await read(path, 0, options);
      assert.ok(byDuckDB.length > 0);
      assert.deepEqual(await read(path, Infinity, options), byDuckDB);
    });
  }
});

Deno.test("CSV: a row holding bytes that are not UTF-8 is rejected alone, by either reader", async (t) => {
  await using dir = await tempDir();
  const utf8 = new TextEncoder();
  const cases: [string, Uint8Array][] = [
    ["a Latin-1 byte", new Uint8Array([0x63, 0x61, 0x66, 0xe9])],
    ["a character cut short", new Uint8Array([0x61, 0xe2, 0x82])],
    ["a surrogate's bytes", new Uint8Array([0x61, 0xed, 0xa0, 0x80])],
  ];
  for (const [name, bad] of cases) {
    await t.step(name, async () => {
      const path = join(dir.path, "in.csv");
      const rows = [utf8.encode("id,x\nfine,1\n"), bad, utf8.encode(",2\nok\uFFFD,3\nlast,4\n")];
      await Deno.writeFile(path, new Uint8Array(rows.flatMap((r) => [...r])));
      const options: ReadOptions = { batchSize: 10, numbers: { x: "int64" } };
      const byDuckDB = await read(path, 0, options);
      assert.deepEqual(await read(path, Infinity, options), byDuckDB);
      const batches = byDuckDB as { columns: Record<string, unknown>; rejects?: { row: number; message: string }[] }[];
      const rejects = batches.flatMap((b) => b.rejects ?? []);
      assert.deepEqual(rejects.map((r) => r.row), [1]);
      assert.match(rejects[0].message, /Cannot parse row 2: it holds bytes that are not UTF-8/);
      // A U+FFFD the file holds as its UTF-8 bytes is text like any other.
      const ids = batches.flatMap((b) => (b.columns.id as [string, string[]])[1]);
      assert.deepEqual(ids, ["fine", "ok\uFFFD", "last"]);
    });
  }
});
