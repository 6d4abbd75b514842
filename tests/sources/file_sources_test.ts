import assert from "node:assert/strict";
import { join } from "node:path";
import { openDuckDB, sqlString } from "../../src/duckdb/mod.ts";
import { InputError, NotFoundError, UsageError } from "../../src/errors.ts";
import type { RowBatch } from "../../src/rows.ts";
import { createSink } from "../../src/sinks/create_sink.ts";
import { openSource } from "../../src/sources/open_source.ts";
import type { Source } from "../../src/sources/source.ts";
import { rejection, ROOT, tempDir } from "../helpers.ts";
import { BROKEN_CSVS, goodRow, HEADER, NOTE, unterminated } from "./broken_csvs.ts";

const RIDES = join(ROOT, "data", "green_tripdata_2021-02.parquet");

async function readAll(
  sourceOrPromise: Source | Promise<Source> | AsyncIterable<RowBatch>,
  batchSize = 10,
  columns?: string[],
): Promise<RowBatch[]> {
  const given = await sourceOrPromise;
  if (Symbol.asyncIterator in given) return await Array.fromAsync(given);
  const source = given;
  const out: RowBatch[] = [];
  for await (const b of source.batches({ batchSize, columns })) out.push(b);
  await source.close();
  return out;
}

Deno.test("CSV source", async (t) => {
  await using dir = await tempDir();
  const path = join(dir.path, "in.csv");
  await Deno.writeTextFile(path, 'a,b,c\n1,"x, y",3\n4,5\n6,7,8\n\n9,10,11\n');
  await t.step("columns come from the header, values stay text", async () => {
    const source = await openSource(path);
    assert.deepEqual(source.columns, [{ name: "a", type: "string" }, { name: "b", type: "string" }, {
      name: "c",
      type: "string",
    }]);
    const batches = await readAll(source, 2);
    assert.deepEqual(batches.map((b) => b.columns.b), [["x, y", "7"], ["10"]]);
  });
  await t.step("a ragged row is rejected alone, with its row number", async () => {
    const batches = await readAll(await openSource(path), 10);
    assert.equal(batches.length, 1);
    assert.deepEqual(batches[0].rejects, [{
      row: 1,
      message: "Cannot parse row 2: it has 2 fields, the header has 3",
      data: ["4", "5"],
    }]);
    assert.deepEqual(Array.from(batches[0].rowNumbers!), [0, 2, 3]);
  });
  await t.step("UTF-8 characters split between two reads stay whole", async () => {
    const utf = join(dir.path, "utf.csv");
    let text = "id,name\n";
    for (let i = 0; i < 100_000; i++) text += `${i},café-ñ-日本-${i}\n`;
    await Deno.writeTextFile(utf, text);
    const names = (await readAll(await openSource(utf), 10_000)).flatMap((b) => b.columns.name as string[]);
    assert.equal(names.length, 100_000);
    assert.deepEqual(names.filter((n) => !/^café-ñ-日本-\d+$/.test(n)), []);
  });
  await t.step("only the asked columns are kept", async () => {
    const batches = await readAll(await openSource(path), 10, ["c"]);
    assert.deepEqual(batches[0].columns, { c: ["3", "8", "11"] });
  });
  await t.step("a column read as numbers: plain numbers come typed, any other value stays its text", async () => {
    const mixed = join(dir.path, "mixed.csv");
    await Deno.writeTextFile(
      mixed,
      "id,x,n\n007,1.5,3\n8,,4\n9,abc,5.0\n10,1e999,x\n11,NaN,-2\n12, 2 ,99999999999999999999\n",
    );
    const [batch] = await readAll(
      (await openSource(mixed)).batches({ batchSize: 10, numbers: { x: "float64", n: "int64" } }),
    );
    assert.deepEqual(batch.columns.id, ["007", "8", "9", "10", "11", "12"], "columns not asked as numbers stay text");
    assert.deepEqual(
      batch.columns.x,
      [1.5, "", "abc", "1e999", "NaN", 2],
      "blanks around a number go, as in the coercion",
    );
    assert.deepEqual(batch.columns.n, [3n, 4n, "5.0", "x", -2n, "99999999999999999999"]);
    const typed = join(dir.path, "typed.csv");
    await Deno.writeTextFile(typed, "x,n\n1.5,3\n-2e3,4\n");
    const [all] = await readAll(
      (await openSource(typed)).batches({ batchSize: 10, numbers: { x: "float64", n: "int64" } }),
    );
    assert.deepEqual(all.columns.x, new Float64Array([1.5, -2000]));
    assert.deepEqual(all.columns.n, new BigInt64Array([3n, 4n]));
  });
  await t.step("a ragged row deep in the file: the rows before and after it keep their numbers", async () => {
    const long = join(dir.path, "long.csv");
    const lines = ["a,b"];
    for (let i = 0; i < 30_000; i++) lines.push(i === 25_000 ? "ragged" : `${i},${i % 7}`);
    await Deno.writeTextFile(long, lines.join("\n") + "\n");
    const batches = await readAll(await openSource(long), 10_000);
    const rows = batches.flatMap((b) => Array.from({ length: b.length }, (_, i) => b.rowNumbers?.[i] ?? b.offset + i));
    const a = batches.flatMap((b) => Array.from(b.columns.a as ArrayLike<string>));
    assert.equal(rows.length, 29_999);
    assert.deepEqual(rows.filter((r, i) => r !== Number(a[i])), [], "every row's number is its source index");
    assert.deepEqual(batches.flatMap((b) => b.rejects ?? []).map((r) => [r.row, r.message]), [
      [25_000, "Cannot parse row 25001: it has 1 fields, the header has 2"],
    ]);
  });
  await t.step("a row of 3 MiB comes whole, and the rows after it", async () => {
    const wide = join(dir.path, "wide.csv");
    const big = "x".repeat(3 << 20);
    await Deno.writeTextFile(wide, `a,b\n1,one\n2,${big}\n3,three\n`);
    const [batch] = await readAll(await openSource(wide), 10);
    assert.deepEqual(batch.columns.a, ["1", "2", "3"]);
    assert.deepEqual((batch.columns.b as string[]).map((b) => b.length), [3, 3 << 20, 5]);
  });
  await t.step("a blank line is skipped, also in a one-column file", async () => {
    const single = join(dir.path, "single.csv");
    await Deno.writeTextFile(single, "a\n1\n\n2\n");
    assert.deepEqual((await readAll(await openSource(single), 10))[0].columns.a, ["1", "2"]);
  });
  await t.step("progress counts bytes", async () => {
    const source = await openSource(path);
    await readAll(source, 10);
    const p = source.progress!();
    assert.equal(p.total, (await Deno.stat(path)).size);
    assert.equal(p.done, p.total);
  });
});

Deno.test("CSV source: a row that breaks the format is rejected alone, and the reading goes on", async (t) => {
  await using dir = await tempDir();
  const path = join(dir.path, "broken.csv");
  for (const file of BROKEN_CSVS) {
    await t.step(file.name, async () => {
      await Deno.writeTextFile(path, file.text);
      const batches = await readAll(await openSource(path), 10_000);
      const rejects = batches.flatMap((b) => b.rejects ?? []);
      assert.deepEqual(rejects.map((r) => r.row), file.rejects.map(([row]) => row));
      rejects.forEach((r, i) => assert.match(r.message, file.rejects[i][1]));
      const bad = new Set(file.rejects.map(([row]) => row));
      const good = Array.from({ length: file.rows }, (_, i) => i).filter((i) => !bad.has(i));
      const read: number[] = [];
      for (const b of batches) {
        for (let i = 0; i < b.length; i++) {
          const row = b.rowNumbers?.[i] ?? b.offset + i;
          read.push(row);
          const want = goodRow(row).split(",");
          want[4] = file.notes?.[row] ?? NOTE;
          const got = HEADER.split(",").map((name) => (b.columns[name] as ArrayLike<string>)[i]);
          if (got.join("|") !== want.join("|")) assert.deepEqual(got, want, `row ${row}`);
        }
      }
      assert.equal(read.length, good.length);
      assert.deepEqual(read, good, "every good row, with its number");
    });
  }
  await t.step("a quote never closed within 16 MiB: its line rejected, the 20 MiB after it read", async () => {
    const rows = 100_000;
    const note = "n".repeat(200);
    let text = HEADER + "\n" + unterminated(0) + "\n";
    for (let i = 1; i < rows; i++) text += goodRow(i, note) + "\n";
    assert.ok(text.length > 20 << 20);
    await Deno.writeTextFile(path, text);
    const batches = await readAll(await openSource(path), 100_000);
    assert.deepEqual(batches.flatMap((b) => b.rejects ?? []).map((r) => [r.row, r.message]), [[
      0,
      "Cannot parse row 1: unterminated quote: the quote opened on this line does not close within 16 MiB",
    ]]);
    assert.equal(batches.reduce((n, b) => n + b.length, 0), rows - 1);
  });
  await t.step("a line over 16 MiB stops the reading, naming its row", async () => {
    await Deno.writeTextFile(path, `${HEADER}\n${goodRow(0)}\n1,2,3,4,${"x".repeat(17 << 20)}\n${goodRow(2)}\n`);
    const err = await rejection(() => readAll(openSource(path), 10));
    assert.ok(err instanceof InputError, String(err));
    assert.equal(err.message, "Cannot parse row 2: its line runs on for more than 16 MiB");
  });
});

Deno.test("file sources closed under a read stop reading", async (t) => {
  await using dir = await tempDir();
  const csv = join(dir.path, "rides.csv");
  await Deno.writeTextFile(csv, "PULocationID,DOLocationID,trip_distance\n" + "130,205,3.66\n".repeat(50_000));
  const parquet = join(dir.path, "rides.parquet");
  const sink = await createSink(parquet);
  await sink.open([{ name: "x", type: "float64" }]);
  await sink.write({ offset: 0, length: 50_000, columns: { x: new Float64Array(50_000).fill(1.5) } });
  await sink.commit();
  for (const [name, path] of [["CSV", csv], ["Parquet", parquet]]) {
    for (const first of ["in flight", "read"]) {
      await t.step(`${name}, the first batch ${first}`, async () => {
        const source = await openSource(path);
        const reading = source.batches({ batchSize: 1000 })[Symbol.asyncIterator]();
        if (first === "read") await reading.next();
        const pending = reading.next();
        pending.catch(() => {});
        await source.close();
        await pending.catch(() => {});
        // What was already fetched may still come, then the reading ends: a CSV reader did not start over in
        // JavaScript (reading the other 48,000 rows, its file left open), a Parquet one did not query on.
        let more = 0;
        while (more <= 5 && await reading.next().then((r) => !r.done, () => false)) more++;
        assert.ok(more <= 5, `${more} batches came after the close`);
      });
    }
  }
});

Deno.test("JSON-lines source", async (t) => {
  await using dir = await tempDir();
  const path = join(dir.path, "in.jsonl");
  await Deno.writeTextFile(path, '{"a":1,"b":"x"}\nnot json\n[1,2]\n{"a":2,"c":"日本"}\n');
  await t.step("columns from the keys of the first lines, in order; bad lines rejected alone", async () => {
    const source = await openSource(path);
    assert.deepEqual(source.columns.map((c) => c.name), ["a", "b", "c"]);
    const [batch] = await readAll(source, 100);
    assert.deepEqual(batch.columns, { a: [1, 2], b: ["x", undefined], c: [undefined, "日本"] });
    assert.deepEqual(batch.rejects!.map((r) => [r.row, r.message.slice(0, 48)]), [
      [1, "Cannot parse row 2: the line is not valid JSON ("],
      [2, "Cannot parse row 3: the line is not a JSON objec"],
    ]);
  });
});

Deno.test("JSON-lines source keeps integers beyond 2^53 exact", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "ids.jsonl");
  await Deno.writeTextFile(path, '{"id":9007199254740993,"x":1.5,"n":42}\n{"id":-9007199254740995,"x":2,"n":7}\n');
  const [batch] = await readAll(await openSource(path), 10);
  assert.deepEqual(batch.columns.id, [9007199254740993n, -9007199254740995n]);
  assert.deepEqual(batch.columns.x, [1.5, 2]);
  assert.deepEqual(batch.columns.n, [42, 7]);
});

Deno.test("Parquet source (the shipped GZIP rides)", async (t) => {
  await t.step("types follow the file's schema", async () => {
    const source = await openSource(RIDES);
    const types = Object.fromEntries(source.columns.map((c) => [c.name, c.type]));
    assert.equal(types.lpep_pickup_datetime, "timestamp");
    assert.equal(types.PULocationID, "int64");
    assert.equal(types.trip_distance, "float64");
    assert.equal(types.store_and_fwd_flag, "string");
    await source.close();
  });
  await t.step("reads every row, in batches, only the asked columns", async () => {
    const source = await openSource(RIDES);
    const batches = await readAll(source, 20_000, ["PULocationID", "trip_distance"]);
    assert.deepEqual(batches.map((b) => b.length), [20_000, 20_000, 20_000, 4_572]);
    assert.deepEqual(batches.map((b) => b.offset), [0, 20_000, 40_000, 60_000]);
    assert.deepEqual(Object.keys(batches[0].columns), ["PULocationID", "trip_distance"]);
    assert.equal(batches[0].columns.PULocationID[0], 130n);
    assert.equal(batches[0].columns.trip_distance[0], 3.66);
    assert.deepEqual(source.progress!(), { done: 64_572, total: 64_572 });
  });
});

Deno.test("Parquet source: decimals, nested integers and microseconds keep their exact values", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "exact.parquet");
  const db = await openDuckDB({ threads: 1, memoryLimit: "64MB" });
  try {
    await db.connection.run(
      `copy (select 12345678901234567.89::DECIMAL(20,2) as wide, 10.10::DECIMAL(5,2) as narrow, ` +
        `[9007199254740993, 1]::BIGINT[] as ids, TIMESTAMP '2021-02-01 10:00:00.123456' as us, ` +
        `TIMESTAMP '2021-02-01 10:00:00.123' as ms, TIMESTAMPTZ '2021-02-01 10:00:00.000001+00' as tz) ` +
        `to ${sqlString(path)} (format parquet)`,
    );
  } finally {
    await db.close();
  }
  const source = await openSource(path);
  const types = Object.fromEntries(source.columns.map((c) => [c.name, c.type]));
  // Over 15 digits a double would round: the exact text, as a Postgres numeric comes.
  assert.deepEqual(types, {
    wide: "string",
    narrow: "float64",
    ids: "json",
    us: "timestamp",
    ms: "timestamp",
    tz: "timestamptz",
  });
  const [batch] = await readAll(source, 10);
  assert.deepEqual(
    [batch.columns.wide[0], batch.columns.narrow[0], batch.columns.ids[0]],
    ["12345678901234567.89", 10.1, [9007199254740993n, 1]],
  );
  // Microseconds, which a Date would cut, come as their ISO text; a Date holds the rest.
  assert.deepEqual(
    [batch.columns.us[0], batch.columns.ms[0], batch.columns.tz[0]],
    ["2021-02-01T10:00:00.123456", new Date("2021-02-01T10:00:00.123Z"), "2021-02-01T10:00:00.000001Z"],
  );
});

Deno.test("Parquet source: a file broken midway fails, it does not end early", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "broken.parquet");
  const sink = await createSink(path);
  await sink.open([{ name: "x", type: "float64" }, { name: "s", type: "string" }]);
  const n = 200_000;
  await sink.write({
    offset: 0,
    length: n,
    columns: {
      x: Float64Array.from({ length: n }, () => Math.random()),
      s: Array.from({ length: n }, (_, i) => `s${i % 1000}-${Math.random()}`),
    },
  });
  await sink.commit();
  const bytes = await Deno.readFile(path);
  // Garbage over a stretch of the second half: pages there no longer decode.
  for (let i = Math.floor(bytes.length * 0.6); i < Math.floor(bytes.length * 0.7); i++) bytes[i] = (i * 7919) & 0xff;
  await Deno.writeFile(path, bytes);
  const err = await rejection(() => readAll(openSource(path), 10_000));
  assert.ok(err instanceof InputError, `${err.name}: ${err.message}`);
  assert.match(err.message, /^Cannot read Parquet file .*broken\.parquet: /);
});

Deno.test("source errors", async (t) => {
  await using dir = await tempDir();
  const corrupt = join(dir.path, "corrupt.parquet");
  await Deno.writeFile(corrupt, new TextEncoder().encode("PAR1 this is not parquet at all PAR1"));
  const empty = join(dir.path, "empty.csv");
  await Deno.writeTextFile(empty, "");
  const dup = join(dir.path, "dup.csv");
  await Deno.writeTextFile(dup, "a,a\n1,2\n");
  const cases: [string, string, new (...a: never[]) => Error, RegExp][] = [
    ["missing file", join(dir.path, "nope.csv"), NotFoundError, /Input file not found: ".*nope\.csv"/],
    ["unknown extension", join(dir.path, "x.xlsx"), UsageError, /Cannot tell the format of ".*x\.xlsx"/],
    ["corrupt Parquet", corrupt, InputError, /Cannot read Parquet file .*corrupt\.parquet/],
    ["empty CSV", empty, InputError, /it is empty \(no header line\)/],
    ["duplicate CSV header", dup, InputError, /column "a" appears twice/],
  ];
  for (const [name, path, type, message] of cases) {
    await t.step(name, async () => {
      const err = await rejection(() => openSource(path));
      assert.ok(err instanceof type, `${err.name}: ${err.message}`);
      assert.match(err.message, message);
    });
  }
});
