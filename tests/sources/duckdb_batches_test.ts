import assert from "node:assert/strict";
import { openDuckDB } from "../../src/duckdb/duckdb.ts";
import { duckdbBatches } from "../../src/sources/duckdb_batches.ts";
import { rejection } from "../helpers.ts";

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
  } finally {
    db.close();
  }
});
