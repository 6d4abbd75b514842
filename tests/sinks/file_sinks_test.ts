import assert from "node:assert/strict";
import { join } from "node:path";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { CannotWriteError } from "../../src/errors.ts";
import type { ColumnInfo, RowBatch } from "../../src/rows.ts";
import { createSink } from "../../src/sinks/create_sink.ts";
import { IN_PLACE_ROWS } from "../../src/sinks/csv_sink.ts";
import { textBytesOf, textOf } from "../../src/text_bytes.ts";
import { openSource } from "../../src/sources/open_source.ts";
import { rejection, tempDir } from "../helpers.ts";

const COLUMNS: ColumnInfo[] = [
  { name: "pickup", type: "timestamp" },
  { name: "id", type: "int64" },
  { name: "distance", type: "float64" },
  { name: "flag", type: "bool" },
  { name: "label", type: "string" },
];
const BATCH: RowBatch = {
  offset: 0,
  length: 2,
  columns: {
    pickup: [new Date("2021-02-01T00:34:03Z"), null],
    id: [130n, 42n],
    distance: new Float64Array([3.66, 1.5]),
    flag: new Uint8Array([1, 0]),
    label: ['say "hi", ok', "plain"],
  },
};

async function writeOnce(path: string) {
  const sink = await createSink(path);
  await sink.open(COLUMNS);
  await sink.write(BATCH);
  await sink.write({ ...BATCH, offset: 2 });
  await sink.commit();
}

Deno.test("file sinks", async (t) => {
  await using dir = await tempDir();
  await t.step("CSV: header, quoting, ISO timestamps, empty nulls", async () => {
    const path = join(dir.path, "out.csv");
    await writeOnce(path);
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
    assert.deepEqual(lines.slice(0, 3), [
      "pickup,id,distance,flag,label",
      '2021-02-01T00:34:03,130,3.66,true,"say ""hi"", ok"',
      ",42,1.5,false,plain",
    ]);
    assert.equal(lines.length, 5);
  });
  await t.step(
    "CSV: many batches, in place then (past IN_PLACE_ROWS) through the writer worker, in order",
    async () => {
      const path = join(dir.path, "many.csv");
      const sink = await createSink(path);
      await sink.open([{ name: "id", type: "string" }, { name: "x", type: "float64" }, { name: "m", type: "string" }]);
      // Typed views of a larger buffer; 150 batches of 20 rows: the first ~100 written in place, the rest by the worker.
      const buffer = new Float64Array(3000).map((_, i) => i / 4);
      assert.ok(IN_PLACE_ROWS > 20 && IN_PLACE_ROWS < 3000 - 20);
      let expected = "id,x,m\n";
      for (let b = 0; b < 150; b++) {
        const ids = Array.from({ length: 20 }, (_, i) => (i === 3 ? `"${b}"` : `r${b}-${i}`));
        const x = buffer.subarray(b * 20, b * 20 + 20);
        await sink.write({ offset: b * 20, length: 20, columns: { id: ids, x, m: new Array(20).fill("lin") } });
        expected += ids.map((id, i) => `${id.startsWith('"') ? `"""${b}"""` : id},${x[i]},lin\n`).join("");
      }
      await sink.commit();
      assert.equal(await Deno.readTextFile(path), expected);
    },
  );
  await t.step(
    "CSV, many rows expected (its writer started at open): the same bytes, none, or nothing after an abort",
    async () => {
      const columns: ColumnInfo[] = [{ name: "id", type: "string" }, { name: "x", type: "float64" }];
      const batches: RowBatch[] = Array.from({ length: 30 }, (_, b) => ({
        offset: b * 100,
        length: 100,
        columns: {
          id: Array.from({ length: 100 }, (_, i) => (i === 7 ? `a,${b}` : `r${b}-${i}`)),
          x: new Float64Array(100).map((_, i) => b + i / 8),
        },
      }));
      const write = async (path: string, expect: { manyRows?: boolean }, count: number) => {
        const sink = await createSink(path, undefined, undefined, {}, expect);
        await sink.open(columns);
        for (const batch of batches.slice(0, count)) await sink.write(batch);
        await sink.commit();
        return await Deno.readTextFile(path);
      };
      const [plain, many] = [join(dir.path, "plain.csv"), join(dir.path, "many_rows.csv")];
      assert.equal(await write(many, { manyRows: true }, 30), await write(plain, {}, 30));
      assert.equal(await write(many, { manyRows: true }, 0), "id,x\n");
      const aborted = join(dir.path, "aborted.csv");
      const sink = await createSink(aborted, undefined, undefined, {}, { manyRows: true });
      await sink.open(columns);
      await sink.write(batches[0]);
      await sink.abort();
      assert.deepEqual((await Array.fromAsync(Deno.readDir(dir.path))).filter((e) => e.name.includes("aborted")), []);
    },
  );
  await t.step(
    "CSV through the writer: text a reader decoded from bytes prints as the same strings would",
    async () => {
      const columns: ColumnInfo[] = [{ name: "id", type: "string" }, { name: "x", type: "float64" }];
      // Plain ASCII, a comma, a quote, a line break, an empty text, not ASCII: each batch its own.
      const texts = (b: number) =>
        Array.from({ length: 100 }, (_, i) => {
          if (i !== 5) return `r${b}-${i}`;
          return ["plain", "a,b", 'say "hi"', "two\nlines", "", "café"][b % 6];
        });
      const write = async (path: string, decoded: boolean) => {
        const sink = await createSink(path, undefined, undefined, {}, { manyRows: true });
        await sink.open(columns);
        for (let b = 0; b < 30; b++) {
          const id = decoded ? textOf(textBytesOf(texts(b))) : texts(b);
          await sink.write({ offset: b * 100, length: 100, columns: { id, x: new Float64Array(100).fill(b / 3) } });
        }
        await sink.commit();
        return await Deno.readTextFile(path);
      };
      const fromStrings = await write(join(dir.path, "strings.csv"), false);
      assert.equal(await write(join(dir.path, "bytes.csv"), true), fromStrings);
      assert.ok(fromStrings.includes('"a,b"') && fromStrings.includes('"say ""hi"""') && fromStrings.includes("café"));
    },
  );
  await t.step("CSV: a file larger than the writer's background flush interval (16 MiB) is written whole", async () => {
    const path = join(dir.path, "large.csv");
    const sink = await createSink(path);
    await sink.open([{ name: "text", type: "string" }, { name: "n", type: "int64" }]);
    // 40 batches of 1,000 rows of ~500 bytes: ~20 MB, so a flush runs while writing goes on.
    const text = "x".repeat(500);
    for (let b = 0; b < 40; b++) {
      const n = BigInt64Array.from({ length: 1000 }, (_, i) => BigInt(b * 1000 + i));
      await sink.write({ offset: b * 1000, length: 1000, columns: { text: new Array(1000).fill(text), n } });
    }
    await sink.commit();
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.equal(lines.length, 40_002); // the header, 40,000 rows, and the empty string after the last newline
    assert.equal(lines[40_000], `${text},39999`);
    assert.equal(lines.filter((l, i) => i > 0 && i <= 40_000 && l !== `${text},${i - 1}`).length, 0);
  });
  await t.step("JSON lines: typed JSON values", async () => {
    const path = join(dir.path, "out.jsonl");
    await writeOnce(path);
    const rows = (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(rows[0], {
      pickup: "2021-02-01T00:34:03",
      id: 130,
      distance: 3.66,
      flag: true,
      label: 'say "hi", ok',
    });
    assert.equal(rows.length, 4);
  });
  await t.step("Parquet: types are kept (timestamp, int64, double, bool, UTF-8 string)", async () => {
    const path = join(dir.path, "out.parquet");
    await writeOnce(path);
    const file = await asyncBufferFromFile(path);
    const metadata = await parquetMetadataAsync(file);
    const types = parquetSchema(metadata).children.map((
      c,
    ) => [c.element.name, c.element.type, c.element.logical_type?.type ?? c.element.converted_type]);
    assert.deepEqual(types, [
      ["pickup", "INT64", "TIMESTAMP"],
      ["id", "INT64", "INT_64"],
      ["distance", "DOUBLE", undefined],
      ["flag", "BOOLEAN", undefined],
      ["label", "BYTE_ARRAY", "UTF8"],
    ]);
    const rows = await parquetReadObjects({ file });
    assert.equal(rows.length, 4);
    assert.deepEqual(rows[0], {
      pickup: new Date("2021-02-01T00:34:03Z"),
      id: 130n,
      distance: 3.66,
      flag: true,
      label: 'say "hi", ok',
    });
    assert.equal(rows[1].pickup, null);
  });
  await t.step("Parquet: what the sink writes (SNAPPY) the source reads back with its types", async () => {
    const source = await openSource(join(dir.path, "out.parquet"));
    assert.deepEqual(source.columns.map((c) => c.type), ["timestamp", "int64", "float64", "bool", "string"]);
    const batches = [];
    for await (const b of source.batches({ batchSize: 3 })) batches.push(b);
    assert.deepEqual(batches.map((b) => b.length), [3, 1]);
    assert.deepEqual(Array.from(batches[0].columns.id), [130n, 42n, 130n]);
  });
  await t.step("Parquet: a uint64 past 2^63 is written as the UBIGINT it is, exactly", async () => {
    const path = join(dir.path, "uint64.parquet");
    const sink = await createSink(path);
    await sink.open([{ name: "u", type: "uint64" }]);
    await sink.write({ offset: 0, length: 3, columns: { u: [18446744073709551615n, 0n, null] } });
    await sink.commit();
    const source = await openSource(path);
    assert.deepEqual(source.columns.map((c) => c.type), ["uint64"]);
    const batches = [];
    for await (const b of source.batches({ batchSize: 3 })) batches.push(b);
    await source.close();
    assert.deepEqual(Array.from(batches[0].columns.u), [18446744073709551615n, 0n, null]);
  });
  await t.step("Parquet, CSV, JSON lines: a timestamp's microseconds are kept", async () => {
    const columns: ColumnInfo[] = [{ name: "ts", type: "timestamp" }, { name: "tz", type: "timestamptz" }];
    const batch = {
      offset: 0,
      length: 3,
      columns: {
        ts: ["2021-02-01T10:00:00.123456", new Date("2021-02-01T10:00:00.5Z"), null],
        tz: ["2021-02-01T10:00:00.000001Z", new Date("2021-02-01T10:00:00Z"), null],
      },
    };
    for (const format of ["parquet", "csv", "jsonl"]) {
      const path = join(dir.path, `micros.${format}`);
      const sink = await createSink(path);
      await sink.open(columns);
      await sink.write(batch);
      await sink.commit();
      if (format !== "parquet") {
        const text = await Deno.readTextFile(path);
        assert.match(text, /2021-02-01T10:00:00\.123456\b/, format);
        assert.match(text, /2021-02-01T10:00:00\.000001Z/, format);
        continue;
      }
      const source = await openSource(path);
      const batches = [];
      for await (const b of source.batches({ batchSize: 3 })) batches.push(b);
      await source.close();
      assert.deepEqual(Array.from(batches[0].columns.ts), [
        "2021-02-01T10:00:00.123456",
        new Date("2021-02-01T10:00:00.5Z"),
        null,
      ]);
      assert.deepEqual(Array.from(batches[0].columns.tz), [
        "2021-02-01T10:00:00.000001Z",
        new Date("2021-02-01T10:00:00Z"),
        null,
      ]);
    }
  });
  await t.step(
    "Parquet: what is no instant (Postgres's infinity, a date before year 1) is null, not a failure",
    async () => {
      const path = join(dir.path, "infinity.parquet");
      const sink = await createSink(path);
      await sink.open([{ name: "ts", type: "timestamp" }, { name: "d", type: "date" }]);
      await sink.write({
        offset: 0,
        length: 2,
        columns: { ts: ["infinity", "0044-03-15 10:00:00 BC"], d: ["-infinity", "0044-03-15 BC"] },
      });
      await sink.commit();
      const source = await openSource(path);
      const batches = [];
      for await (const b of source.batches({ batchSize: 2 })) batches.push(b);
      await source.close();
      assert.deepEqual([Array.from(batches[0].columns.ts), Array.from(batches[0].columns.d)], [[null, null], [
        null,
        null,
      ]]);
    },
  );
  await t.step("nothing is visible under the output name before commit; abort leaves nothing", async () => {
    const path = join(dir.path, "aborted.csv");
    const sink = await createSink(path);
    await sink.open(COLUMNS);
    await sink.write(BATCH);
    await assert.rejects(() => Deno.stat(path), Deno.errors.NotFound);
    await sink.abort();
    await assert.rejects(() => Deno.stat(path), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(dir.path)].filter((e) => e.name.includes("aborted")), []);
  });
  await t.step("a missing output folder is a clear error", async () => {
    const sink = await createSink(join(dir.path, "no", "such", "out.parquet"));
    const err = await rejection(() => sink.open(COLUMNS));
    assert.ok(err instanceof CannotWriteError);
    assert.match(err.message, /^Cannot write ".*no\/such\/out\.parquet": folder ".*no\/such" does not exist$/);
  });
});
