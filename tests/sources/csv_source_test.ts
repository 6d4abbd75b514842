/**
 * A CSV file is read from its bytes in a worker, or, when it is small, on the job's thread: both readers hand over the
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
import { random, randomCsv } from "./random_csv.ts";

/**
 * What a reader gives, row by row (where batches end may differ: the worker's last batch ends at a row it leaves to
 * the in-process reader): each row's number and values, and the rejects.
 */
async function read(
  path: string,
  inProcessMaxBytes: number,
  options: ReadOptions,
): Promise<{ rows: unknown[]; rejects: unknown[] }> {
  const source = await openCsvSource(path, { inProcessMaxBytes });
  const rows: unknown[] = [];
  const rejects: unknown[] = [];
  try {
    for await (const batch of source.batches(options) as AsyncIterable<RowBatch>) {
      // A number column as the model reads it: a reader gives a plain number as a number or as its text (the
      // in-process reader after a row the worker stops on), the coercion makes the same of either
      // (csv_numbers_test.ts).
      const columns = Object.entries(batch.columns).map(([name, c]) => {
        const type = options.numbers?.[name];
        if (type === undefined) return [name, Array.from(c)] as const;
        const { data, failures } = coerceColumn(Array.from(c), type);
        const failed = new Map(failures.map((f) => [f.index, f.reason]));
        return [name, Array.from(data as ArrayLike<unknown>, (v, i) => failed.get(i) ?? v)] as const;
      });
      for (let i = 0; i < batch.length; i++) {
        rows.push([batch.rowNumbers?.[i] ?? batch.offset + i, Object.fromEntries(columns.map(([n, c]) => [n, c[i]]))]);
      }
      rejects.push(...(batch.rejects ?? []));
    }
  } finally {
    await source.close();
  }
  return { rows, rejects };
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
  ["one column: blank lines skipped, a line of spaces a value", 'a\n1\n\n  \n2\n"x\ny"\n', { batchSize: 2 }],
  ["LF, CRLF and a lone CR", "a,b\r\n1,2\r\n3,4\r5,6\n7,8", { batchSize: 2, numbers: { b: "float64" } }],
  ["a quote left open, then rows", 'a,b\n1,2\n"3,4\n5,6\n7,8\n', { batchSize: 2 }],
  ["text after a closing quote", 'a,b\n1,2\n"3"x,4\n5,6\n', { batchSize: 10 }],
  ["empty fields past the header's width, spaces around quotes", 'a,b\n1,2,,\n "3" , 4\n', { batchSize: 10 }],
];

Deno.test("CSV: the worker's reading from bytes and the in-process one give the same rows", async (t) => {
  await using dir = await tempDir();
  for (const [name, text, options] of CASES) {
    await t.step(name, async () => {
      const path = join(dir.path, "in.csv");
      await Deno.writeTextFile(path, text);
      const byWorker = await read(path, 0, options);
      assert.ok(byWorker.rows.length > 0);
      assert.deepEqual(await read(path, Infinity, options), byWorker);
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
      const byWorker = await read(path, 0, options);
      assert.deepEqual(await read(path, Infinity, options), byWorker);
      const rejects = byWorker.rejects as { row: number; message: string }[];
      assert.deepEqual(rejects.map((r) => r.row), [1]);
      assert.match(rejects[0].message, /Cannot parse row 2: it holds bytes that are not UTF-8/);
      // A U+FFFD the file holds as its UTF-8 bytes is text like any other.
      const ids = (byWorker.rows as [number, { id: string }][]).map(([row, { id }]) => [row, id]);
      assert.deepEqual(ids, [[0, "fine"], [2, "ok\uFFFD"], [3, "last"]]);
    });
  }
});

Deno.test("CSV: after a row it leaves to JavaScript, the worker reads on", async (t) => {
  await using dir = await tempDir();
  const path = join(dir.path, "in.csv");
  const options: ReadOptions = { batchSize: 1_000, numbers: { x: "float64" } };
  const cases: [string, Uint8Array][] = [
    ["a ragged row", new TextEncoder().encode("3\n")],
    ["a quote left open on its line", new TextEncoder().encode('3,"4\n')],
    ["bytes that are not UTF-8", new Uint8Array([0x33, 0x2c, 0xe9, 0xe9, 0x0d, 0x0a])],
  ];
  for (const [name, bad] of cases) {
    await t.step(name, async () => {
      const utf8 = new TextEncoder();
      const rows = (from: number, to: number) =>
        utf8.encode(Array.from({ length: to - from }, (_, i) => `r${from + i},${(from + i) / 2}\n`).join(""));
      // Bad rows near the start and further on; a batch of JavaScript's reading lies between them.
      const parts = [utf8.encode("id,x\n"), rows(0, 5), bad, rows(6, 4_000), bad, rows(4_001, 30_000)];
      await Deno.writeFile(path, new Uint8Array(parts.flatMap((p) => [...p])));
      const source = await openCsvSource(path, { inProcessMaxBytes: 0 });
      const kinds: string[] = [];
      const rejects: number[] = [];
      let good = 0;
      try {
        for await (const batch of source.batches(options)) {
          kinds.push(batch.columns.x.constructor.name);
          rejects.push(...(batch.rejects ?? []).map((r) => r.row));
          good += batch.length;
        }
      } finally {
        await source.close();
      }
      assert.deepEqual(rejects, [5, 4_000]);
      assert.equal(good, 30_000 - 2);
      // The worker's batches come typed; JavaScript's as text. Each bad row costs one batch read here, no more.
      assert.deepEqual(kinds.filter((k) => k === "Array").length, 2, kinds.join(" "));
      assert.equal(kinds.at(-1), "Float64Array");
      assert.deepEqual(await read(path, 0, options), await read(path, Infinity, options));
    });
  }
});

Deno.test("CSV: the worker and the in-process reader give the same rows on random files, broken ones too", async () => {
  await using dir = await tempDir();
  const next = random(11);
  for (let n = 0; n < 60; n++) {
    // Rows enough for the worker to start, stop and read on several times.
    const text = randomCsv(next) +
      Array.from({ length: 5 }, () => randomCsv(next).replace(/^a,b(\r\n|\r|\n)/, "")).join("\n");
    const path = join(dir.path, `${n}.csv`);
    await Deno.writeTextFile(path, text);
    const options: ReadOptions = { batchSize: 2 };
    assert.deepEqual(await read(path, 0, options), await read(path, Infinity, options), JSON.stringify(text));
  }
});
