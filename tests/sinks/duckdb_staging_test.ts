import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { openDuckDB, SPILL_PREFIX } from "../../src/duckdb/duckdb.ts";
import { OWNER } from "../../src/owner.ts";
import type { ColumnInfo } from "../../src/rows.ts";
import { openStaging } from "../../src/sinks/duckdb_staging.ts";
import { tempDir } from "../helpers.ts";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";

const COLUMNS: ColumnInfo[] = [
  { name: "id", type: "int64" },
  { name: "y", type: "float64" },
  { name: "model", type: "string" },
  { name: "note", type: "string" },
  { name: "at", type: "timestamp" },
  { name: "extra", type: "json" },
];

Deno.test("DuckDB staging: rows come back in order, constants and all", async (t) => {
  await using dir = await tempDir();
  const cases: [string, (i: number) => string | null][] = [
    ["a constant text column stays a constant", () => "linreg"],
    ["a column constant for two batches, then not, keeps every value", (i) => (i < 20 ? "v1" : "v2")],
    ["a null constant, then a value", (i) => (i < 10 ? null : "x")],
  ];
  for (const [name, note] of cases) {
    await t.step(name, async () => {
      const staging = await openStaging(COLUMNS);
      for (let start = 0; start < 30; start += 10) {
        const ids = BigInt64Array.from({ length: 10 }, (_, i) => BigInt(start + i));
        await staging.write({
          offset: start,
          length: 10,
          columns: {
            id: ids,
            y: Float64Array.from({ length: 10 }, (_, i) => (start + i) / 2),
            model: new Array(10).fill("linreg"),
            note: Array.from({ length: 10 }, (_, i) => note(start + i)),
            at: Array.from({ length: 10 }, (_, i) => new Date(Date.UTC(2021, 0, 1, 0, start + i))),
            extra: Array.from({ length: 10 }, (_, i) => ({ k: start + i })),
          },
        });
      }
      const out = join(dir.path, "out.parquet");
      await staging.copyTo(out, "format parquet");
      await staging.close();
      const db = await openDuckDB({ threads: 1 });
      const rows = (await db.connection.runAndReadAll(
        `select id::INTEGER as id, y, model, note, strftime("at", '%Y-%m-%d %H:%M') as "at", extra from '${out}'`,
      )).getRowObjectsJS();
      await db.close();
      assert.equal(rows.length, 30);
      // Another reader sees a constant (written as a one-value ENUM) as the plain UTF-8 column any other is.
      const file = await asyncBufferFromFile(out);
      const schema = parquetSchema(await parquetMetadataAsync(file)).children.map((c) => c.element);
      for (const name of ["model", "note"]) {
        const element = schema.find((e) => e.name === name)!;
        assert.deepEqual([element.type, element.converted_type], ["BYTE_ARRAY", "UTF8"], name);
      }
      const read = await parquetReadObjects({ file, columns: ["model", "note"] });
      assert.deepEqual(read, rows.map((_, i) => ({ model: "linreg", note: note(i) })));
      rows.forEach((r, i) => {
        assert.deepEqual(r, {
          id: i,
          y: i / 2,
          model: "linreg",
          note: note(i),
          at: `2021-01-01 00:${String(i).padStart(2, "0")}`,
          extra: JSON.stringify({ k: i }),
        });
      });
    });
  }
  await t.step(
    "rows past the memory limit spill to a folder of the process, removed with the last connection",
    async () => {
      const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
      // This process's only: test files running beside this one have theirs.
      const spills = () =>
        [...Deno.readDirSync(tmp)].map((e) => e.name).filter((n) => n.startsWith(`${SPILL_PREFIX}${OWNER}-`));
      const before = new Set(spills());
      // Held open so the shared database outlives the staging, as a job's reader holds it; its limit made small.
      const reader = await openDuckDB();
      await reader.connection.run("set memory_limit = '32MB'");
      const staging = await openStaging([{ name: "x", type: "float64" }, { name: "s", type: "string" }]);
      for (let b = 0; b < 20; b++) {
        const n = 50_000;
        await staging.write({
          offset: b * n,
          length: n,
          columns: {
            x: Float64Array.from({ length: n }, (_, i) => b * n + i),
            s: Array.from({ length: n }, (_, i) => `row ${b * n + i} of a staging that spills to disk`),
          },
        });
      }
      const created = spills().filter((n) => !before.has(n));
      assert.equal(created.length, 1);
      assert.ok([...Deno.readDirSync(join(tmp, created[0]))].length > 0, "rows spilled to the folder");
      const out = join(await Deno.makeTempDir(), "out.parquet");
      // The file is written with every core; the shared database's setting is back after.
      const threads = async () =>
        (await reader.connection.runAndReadAll("select current_setting('threads')")).getRows()[0][0];
      const threadsBefore = await threads();
      await staging.copyTo(out, "format parquet");
      assert.equal(await threads(), threadsBefore);
      await staging.close();
      assert.ok(spills().includes(created[0]), "the folder stays while the reader's connection is open");
      const back = (await reader.connection.runAndReadAll(`select count(*)::INTEGER as n, max(x) as x from '${out}'`))
        .getRowObjectsJS();
      assert.deepEqual(back, [{ n: 1_000_000, x: 999_999 }]);
      await reader.close();
      assert.ok(!spills().includes(created[0]));
      await Deno.remove(dirname(out), { recursive: true });
    },
  );
});
