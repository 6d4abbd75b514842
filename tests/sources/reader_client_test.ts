import assert from "node:assert/strict";
import { join } from "node:path";
import { openDuckDB, sqlString } from "../../src/duckdb/duckdb.ts";
import { InputError } from "../../src/errors.ts";
import { openReaderWorker, type ReaderWorker, startReaderWorker } from "../../src/sources/reader_client.ts";
import { rejection, tempDir } from "../helpers.ts";

/** A CSV file of `rows` rows: `id` (text), `x` (a number, or "bad" at `bad`), `y`; a ragged row at `ragged`. */
async function writeCsv(path: string, rows: number, options: { bad?: number; ragged?: number } = {}) {
  const lines = ["id,x,y"];
  for (let i = 0; i < rows; i++) {
    lines.push(i === options.ragged ? `r${i},1` : `r${i},${i === options.bad ? "bad" : i / 2},${i}`);
  }
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
}

Deno.test("a read in the reader worker", async (t) => {
  await using dir = await tempDir();
  const csv = join(dir.path, "rows.csv");
  await writeCsv(csv, 25_000, { bad: 12_345 });
  /** A CSV read in a worker of its own: the batches, and the worker to close. */
  const read = async (path: string, batchSize: number) => {
    const worker = await openReaderWorker({ duckdb: false });
    const batches = worker.batches({
      kind: "csv",
      path,
      delimiter: ",",
      header: ["id", "x", "y"],
      options: { batchSize, columns: ["id", "x"], numbers: { x: "float64" } },
    });
    return { worker, batches };
  };

  await t.step("CSV: batches in order, text as strings, plain numbers typed, the rest as text", async () => {
    const batches = await Array.fromAsync((await read(csv, 10_000)).batches);
    assert.deepEqual(batches.map((b) => [b.offset, b.length]), [[0, 10_000], [10_000, 10_000], [20_000, 5_000]]);
    assert.deepEqual(Object.keys(batches[0].columns), ["id", "x"]);
    assert.equal(batches[0].columns.id[9_999], "r9999");
    assert.ok(batches[0].columns.x instanceof Float64Array);
    assert.equal(batches[0].columns.x[3], 1.5);
    // The batch with "bad" is a plain array: numbers, and the text the coercion will judge.
    assert.deepEqual([batches[1].columns.x[2_344], batches[1].columns.x[2_345]], [12_344 / 2, "bad"]);
    assert.equal(batches[2].columns.id[4_999], "r24999");
  });

  await t.step("CSV: a row left to JavaScript ends the batches with a failure, after every row before it", async () => {
    const ragged = join(dir.path, "ragged.csv");
    // Far enough in (past the first reads) for batches to come before it.
    await writeCsv(ragged, 400_000, { ragged: 350_000 });
    const ends: number[] = [];
    const err = await rejection(async () => {
      for await (const b of (await read(ragged, 10_000)).batches) ends.push(b.offset + b.length);
    });
    assert.ok(!(err instanceof InputError), "a failure of the worker's, for JavaScript to read on after");
    assert.deepEqual(ends, Array.from({ length: 35 }, (_, i) => (i + 1) * 10_000));
  });

  await t.step("a worker closed before it reads anything goes at once", async () => {
    const reader = await openReaderWorker();
    const started = performance.now();
    await reader.close();
    assert.ok(performance.now() - started < 5_000, "closed within 5 s");
    await assert.rejects(
      () => Array.fromAsync(reader.batches({ kind: "parquet", path: csv, columns: [], total: 0, batchSize: 1 })),
      /closed/,
    );
  });

  await t.step("closing under a read ends it at once: no more batches, the worker gone", async () => {
    const big = join(dir.path, "big.csv");
    await writeCsv(big, 300_000);
    const { worker, batches } = await read(big, 1_000);
    assert.equal((await batches.next()).value?.length, 1_000);
    const started = performance.now();
    await worker.close();
    assert.ok(performance.now() - started < 5_000, "closed within 5 s");
    const after = await rejection(() => batches.next());
    assert.match(after.message, /closed/);
  });

  await t.step("Parquet: a file that is not Parquet fails as bad input, named, and the worker goes", async () => {
    const reader = await openReaderWorker();
    const err = await rejection(() => reader.describeParquet(csv));
    assert.ok(err instanceof InputError);
    assert.match(err.message, /^Cannot read Parquet file .*rows\.csv: /);
    await reader.close();
  });

  await t.step(
    "Parquet: the footer, then a file that ends before its footer's count fails as bad input, named",
    async () => {
      const parquet = join(dir.path, "rows.parquet");
      const db = await openDuckDB({ threads: 1 });
      try {
        await db.connection.run(
          `copy (select i::DOUBLE as x, 'r' || i as s, make_date(2021, 1, 1 + (i % 28)::INTEGER) as d from range(3000) t(i)) to ${
            sqlString(parquet)
          } (format parquet)`,
        );
      } finally {
        await db.close();
      }
      // Started without DuckDB (as for a CSV file): the footer's read starts it.
      const reader = await openReaderWorker({ duckdb: false });
      const file = await reader.describeParquet(parquet);
      assert.deepEqual(file, {
        columns: [{ name: "x", type: "DOUBLE" }, { name: "s", type: "VARCHAR" }, { name: "d", type: "DATE" }],
        total: 3000,
      });
      const columns = file.columns.slice(0, 2);
      const whole = await Array.fromAsync(
        reader.batches({ kind: "parquet", path: parquet, columns, total: 3000, batchSize: 2_000 }),
      );
      assert.deepEqual(whole.map((b) => b.length), [2_000, 1_000]);
      assert.equal(whole[1].columns.s[999], "r2999");
      const err = await rejection(async () =>
        Array.fromAsync(
          (await openReaderWorker()).batches({
            kind: "parquet",
            path: parquet,
            columns,
            total: 3001,
            batchSize: 2_000,
          }),
        )
      );
      assert.ok(err instanceof InputError);
      assert.match(err.message, /Cannot read Parquet file .*rows\.parquet: it ended after 3000 of its 3001 rows/);
    },
  );
});

Deno.test("a reader's worker started ahead", async (t) => {
  await using dir = await tempDir();
  const csv = join(dir.path, "rows.csv");
  await writeCsv(csv, 3_000);
  const rows = async (reader: ReaderWorker) =>
    (await Array.fromAsync(reader.batches({
      kind: "csv",
      path: csv,
      delimiter: ",",
      header: ["id", "x", "y"],
      options: { batchSize: 1_000, columns: ["id"] },
    }))).reduce((n, b) => n + b.length, 0);

  await t.step("the next reader opened is the one started ahead, the one after a new one; both read", async () => {
    const ahead = startReaderWorker();
    const first = await openReaderWorker();
    assert.equal(first, await ahead.reader);
    const second = await openReaderWorker();
    assert.notEqual(second, first);
    // Taken: releasing it leaves it to its reader.
    await ahead.release();
    assert.deepEqual([await rows(first), await rows(second)], [3_000, 3_000]);
  });

  await t.step("released before a reader took it: closed, and the next reader opened is a new one", async () => {
    const ahead = startReaderWorker();
    await ahead.release();
    const early = await ahead.reader;
    await assert.rejects(() => early.describeParquet(csv), /closed/);
    const next = await openReaderWorker();
    assert.notEqual(next, early);
    assert.equal(await rows(next), 3_000);
  });

  await t.step("started twice before a reader took it: one worker", async () => {
    const a = startReaderWorker();
    const b = startReaderWorker();
    assert.equal(await a.reader, await b.reader);
    await a.release();
    await assert.rejects(async () => (await b.reader).describeParquet(csv), /closed/);
  });
});
