import assert from "node:assert/strict";
import { join } from "node:path";
import { type CsvRecord, CsvRecords } from "../../src/sources/csv_records.ts";
import { bytesCanSplit, csvByteBatches, type CsvRead } from "../../src/sources/csv_byte_batches.ts";
import type { ReadOptions } from "../../src/sources/source.ts";
import { isTextBytes, textOf } from "../../src/text_bytes.ts";
import { rejection, tempDir } from "../helpers.ts";
import { random, randomCsv } from "./random_csv.ts";

/** The rows the byte reader gives (as text), and why it stopped, if it did. */
async function byBytes(
  path: string,
  header: string[],
  options: ReadOptions,
  limits: { chunkBytes?: number; maxRecordBytes?: number } = {},
): Promise<{ rows: unknown[][]; stopped?: string }> {
  const read: CsvRead = { kind: "csv", path, delimiter: ",", header, options };
  const rows: unknown[][] = [];
  try {
    for await (const batch of csvByteBatches(read, limits)) {
      assert.equal(batch.offset, rows.length);
      const names = options.columns ?? header;
      const columns = names.map((name) => {
        const c = batch.columns[name];
        return isTextBytes(c) ? textOf(c) : Array.from(c);
      });
      for (let i = 0; i < batch.length; i++) rows.push(columns.map((c) => c[i]));
    }
    return { rows };
  } catch (err) {
    return { rows, stopped: (err as Error).message };
  }
}

/** The records after the header, as `csv_records.ts` reads the file. */
async function byRecords(text: string): Promise<CsvRecord[]> {
  const records = new CsvRecords([text].values(), ",");
  const header = await records.next();
  assert.ok(header !== undefined && header.error === undefined);
  records.width = header.fields.length;
  const out: CsvRecord[] = [];
  for (let r; (r = await records.next()) !== undefined;) out.push(r);
  return out;
}

Deno.test("CSV from its bytes: the rows csv_records reads, up to the first it must judge", async () => {
  await using dir = await tempDir();
  const next = random(7);
  let whole = 0;
  let stopped = 0;
  for (let n = 0; n < 600; n++) {
    const text = randomCsv(next);
    const path = join(dir.path, `${n}.csv`);
    await Deno.writeTextFile(path, text);
    const records = await byRecords(text);
    // Buffers of a few bytes put a record's end, a quote and its pair, and CR and LF on either side of a read.
    for (const chunkBytes of [1, 3, 7, 1 << 20]) {
      const got = await byBytes(path, ["a", "b"], { batchSize: 2 }, { chunkBytes });
      const context = `${JSON.stringify(text)} in reads of ${chunkBytes} bytes: ${got.stopped}`;
      assert.deepEqual(
        got.rows,
        records.slice(0, got.rows.length).map((r) => {
          assert.ok(r.error === undefined, context);
          return r.fields;
        }),
        context,
      );
      if (got.stopped === undefined) {
        assert.equal(got.rows.length, records.length, context);
      } else {
        // It stops at a record, never past the last.
        assert.ok(got.rows.length < records.length, context);
      }
      // A file csv_records reads without a reject is read whole.
      if (records.every((r) => r.error === undefined)) assert.equal(got.stopped, undefined, context);
    }
    if ((await byBytes(path, ["a", "b"], { batchSize: 2 })).stopped === undefined) whole++;
    else stopped++;
  }
  // Enough of each for the comparison to mean something.
  assert.ok(whole > 200 && stopped > 100, `${whole} read whole, ${stopped} stopped`);
});

Deno.test("CSV from its bytes", async (t) => {
  await using dir = await tempDir();
  const cases: {
    name: string;
    text: string | Uint8Array;
    options?: Partial<ReadOptions>;
    rows: unknown[][];
    stopped?: RegExp;
  }[] = [
    {
      name: "LF, CRLF and a lone CR end lines",
      text: "a,b\n1,2\r\n3,4\r5,6",
      rows: [["1", "2"], ["3", "4"], ["5", "6"]],
    },
    { name: "blank lines are no rows", text: "a,b\n\n1,2\n\r\n\n3,4\n\n", rows: [["1", "2"], ["3", "4"]] },
    {
      name: 'quotes: spaces around them dropped, "" a quote, line breaks and delimiters inside',
      text: 'a,b\n "x, y" ,"say ""hi"""\nπ,"two\r\nlines"\nab"c,\n',
      rows: [["x, y", 'say "hi"'], ["π", "two\r\nlines"], ['ab"c', ""]],
    },
    {
      name: "empty fields past the header's width are dropped",
      text: "a,b\n1,2,,\n3,4,\n",
      rows: [["1", "2"], ["3", "4"]],
    },
    { name: "a BOM before the header", text: "\uFEFFa,b\n1,2\n", rows: [["1", "2"]] },
    {
      name: "some columns, numbers read from their bytes",
      text: "a,b,c\n1,x,2.5\n2,y,-1e3\n",
      options: { columns: ["c", "a"], numbers: { c: "float64", a: "int32" } },
      rows: [[2.5, 1], [-1000, 2]],
    },
    {
      name: "a number that is not plain stays text",
      text: "a,b\n1,\n2, 3 \n3,abc\n",
      options: { numbers: { b: "float64" } },
      rows: [["1", ""], ["2", 3], ["3", "abc"]],
    },
    { name: "a ragged row stops it", text: "a,b\n1,2\n3\n4,5\n", rows: [["1", "2"]], stopped: /row 2: fewer fields/ },
    { name: "a row too wide stops it", text: "a,b\n1,2\n3,4,5\n", rows: [["1", "2"]], stopped: /row 2: more fields/ },
    {
      name: "text after a closing quote stops it",
      text: 'a,b\n1,2\n"3"x,4\n',
      rows: [["1", "2"]],
      stopped: /row 2: text after a closing quote/,
    },
    {
      name: "a quote that never closes stops it",
      text: 'a,b\n1,2\n"3,4\n5,6\n',
      rows: [["1", "2"]],
      stopped: /never closes/,
    },
    {
      name: "bytes that are not UTF-8 stop it, in a column not read too",
      text: new Uint8Array([...new TextEncoder().encode("a,b\n1,2\n3,"), 0xff, 0x0a, 0x35, 0x2c, 0x36]),
      options: { columns: ["a"] },
      rows: [["1"]],
      stopped: /row 2: bytes that are not UTF-8/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const path = join(dir.path, "in.csv");
      if (typeof c.text === "string") await Deno.writeTextFile(path, c.text);
      else await Deno.writeFile(path, c.text);
      const header = c.name.startsWith("some") ? ["a", "b", "c"] : ["a", "b"];
      for (const chunkBytes of [1, 2, 5, 1 << 20]) {
        const got = await byBytes(path, header, { batchSize: 2, ...c.options }, { chunkBytes });
        assert.deepEqual(got.rows, c.rows);
        if (c.stopped) assert.match(got.stopped ?? "", c.stopped);
        else assert.equal(got.stopped, undefined);
      }
    });
  }
  await t.step("a record longer than the bound is left to csv_records, which says what it is", async () => {
    const path = join(dir.path, "long.csv");
    await Deno.writeTextFile(path, `a,b\n1,2\n3,${"x".repeat(100)}\n5,6\n`);
    const got = await byBytes(path, ["a", "b"], { batchSize: 10 }, { chunkBytes: 8, maxRecordBytes: 64 });
    assert.deepEqual(got.rows, [["1", "2"]]);
    assert.match(got.stopped ?? "", /row 2: a record runs on for more than 64 bytes/);
    const read = await byBytes(path, ["a", "b"], { batchSize: 10 }, { chunkBytes: 8, maxRecordBytes: 128 });
    assert.equal(read.rows.length, 3);
  });
  await t.step("a delimiter of one byte, not a line break, quote or space", () => {
    for (
      const [delimiter, can] of [[",", true], ["\t", true], [";", true], ["::", false], [" ", false], ['"', false], [
        "\n",
        false,
      ], ["é", false]] as const
    ) {
      assert.equal(bytesCanSplit(delimiter), can, delimiter);
    }
  });
  await t.step("another delimiter is refused", async () => {
    const err = await rejection(async () => {
      for await (
        const _ of csvByteBatches({
          kind: "csv",
          path: join(dir.path, "in.csv"),
          delimiter: "::",
          header: ["a"],
          options: { batchSize: 1 },
        })
      );
    });
    assert.match(String(err), /Cannot split CSV by "::"/);
  });
});
