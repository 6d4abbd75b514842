import assert from "node:assert/strict";
import { join } from "node:path";
import { openDuckDB, sqlString } from "../../src/duckdb/duckdb.ts";
import { duckdbBatches, endMarked } from "../../src/sources/duckdb_batches.ts";
import { rejection, tempDir } from "../helpers.ts";

Deno.test("duckdbBatches", async (t) => {
  const db = await openDuckDB({ threads: 1 });
  const exactly = (n: number) => (rows: number) =>
    rows === n ? Promise.resolve() : Promise.reject(new Error(`read ${rows} of ${n} rows`));
  try {
    await t.step("DuckDB's chunks joined into batches of the size asked, typed arrays kept typed", async () => {
      const batches = await Array.fromAsync(
        duckdbBatches(
          db.connection,
          "select i::DOUBLE as x, i::VARCHAR as s from range(25000) t(i)",
          ["x", "s"],
          10_000,
          {
            check: exactly(25_000),
            offset: 5,
          },
        ),
      );
      assert.deepEqual(batches.map((b) => [b.offset, b.length]), [[5, 10_000], [10_005, 10_000], [20_005, 5_000]]);
      assert.ok(batches[0].columns.x instanceof Float64Array);
      assert.equal(batches[1].columns.x[0], 10_000);
      assert.equal(batches[2].columns.s[4_999], "24999");
    });
    await t.step("a query failing midway fails, through the row count, instead of ending early", async () => {
      const sql = "select case when i < 3000000 then i else error('boom') end as x from range(5000000) t(i)";
      const err = await rejection(() =>
        Array.fromAsync(duckdbBatches(db.connection, sql, ["x"], 100_000, { check: exactly(5_000_000) }))
      );
      assert.match(err.message, /^read \d+ of 5000000 rows$/);
    });
    await t.step("end-marked: every row, the marker dropped, a query of no rows gives no batch", async () => {
      const sql = endMarked("select i::DOUBLE as x, i::VARCHAR as s from range(25000) t(i)", ["x", "s"]);
      const batches = await Array.fromAsync(duckdbBatches(db.connection, sql, ["x", "s"], 10_000, { endMarked: true }));
      assert.deepEqual(batches.map((b) => b.length), [10_000, 10_000, 5_000]);
      assert.deepEqual(Object.keys(batches[0].columns), ["x", "s"]);
      assert.ok(batches[2].columns.x instanceof Float64Array);
      assert.equal(batches[2].columns.s[4_999], "24999");
      const none = endMarked("select i as x from range(0) t(i)", ["x"]);
      assert.deepEqual(await Array.fromAsync(duckdbBatches(db.connection, none, ["x"], 10, { endMarked: true })), []);
    });
    await t.step("end-marked: a query failing midway fails instead of ending early", async () => {
      const sql = endMarked(
        "select case when i < 3000000 then i else error('boom') end as x from range(5000000) t(i)",
        [
          "x",
        ],
      );
      const err = await rejection(() =>
        Array.fromAsync(duckdbBatches(db.connection, sql, ["x"], 100_000, { endMarked: true }))
      );
      assert.match(err.message, /^DuckDB's result ended early, after \d+ rows$/);
    });
  } finally {
    await db.close();
  }
});

Deno.test("duckdbBatches: the end marker comes after every row of a file read in parallel", async () => {
  // What end-marked reading relies on: DuckDB keeps a UNION ALL's parts in order. If a later DuckDB does not,
  // this test fails (and the marker could arrive among the rows).
  await using dir = await tempDir();
  const path = join(dir.path, "rows.csv");
  const rows = 400_000;
  await Deno.writeTextFile(path, "id,v\n" + Array.from({ length: rows }, (_, i) => `${i},${i % 97}`).join("\n") + "\n");
  const db = await openDuckDB({ threads: 4 });
  try {
    const sql = endMarked(
      `select id from read_csv(${sqlString(path)}, header = true, auto_detect = false, ` +
        `columns = {'id': 'BIGINT', 'v': 'VARCHAR'})`,
      ["id"],
    );
    let next = 0n;
    for await (const b of duckdbBatches(db.connection, sql, ["id"], 50_000, { endMarked: true })) {
      for (const id of b.columns.id as BigInt64Array) assert.equal(id, next++);
    }
    assert.equal(next, BigInt(rows));
  } finally {
    await db.close();
  }
});
