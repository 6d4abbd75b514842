import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, openDuckDB, sqlName, sqlString } from "../../src/duckdb/duckdb.ts";
import { ROOT, tempDir } from "../helpers.ts";

Deno.test("DuckDB: describe, and quoting", async () => {
  const db = await openDuckDB({ threads: 1 });
  try {
    assert.deepEqual(
      await describe(db.connection, `select 1::BIGINT as ${sqlName('a "b"')}, ${sqlString("it's")} as s`),
      [
        { name: 'a "b"', type: "BIGINT" },
        { name: "s", type: "VARCHAR" },
      ],
    );
  } finally {
    await db.close();
  }
});

Deno.test("DuckDB: closing under a query or a fetch in flight waits for it instead of crashing", async () => {
  // Freeing the database under a running query crashed the whole process (SIGSEGV), so this runs in a child.
  await using dir = await tempDir();
  const csv = join(dir.path, "rides.csv");
  await Deno.writeTextFile(csv, "PULocationID,DOLocationID,trip_distance\n" + "130,205,3.66\n".repeat(50_000));
  const url = (path: string) => new URL(`../../src/${path}`, import.meta.url).href;
  const script = `
    import { openSource } from "${url("sources/mod.ts")}";
    import { openStaging } from "${url("sinks/duckdb_staging.ts")}";
    const csv = ${JSON.stringify(csv)};
    // A source closed while its first read (the query starting) or a later fetch is in flight.
    for (let i = 0; i < 40; i++) {
      const source = await openSource(csv);
      const reading = source.batches({ batchSize: 20 })[Symbol.asyncIterator]();
      if (i % 2 === 1) await reading.next();
      const next = reading.next();
      next.catch(() => {});
      await new Promise((r) => setTimeout(r, i % 4));
      await source.close();
      await next.catch(() => {});
    }
    // A staging table closed while it writes its file.
    for (let i = 0; i < 10; i++) {
      const staging = await openStaging([{ name: "x", type: "float64" }]);
      await staging.write({ offset: 0, length: 200_000, columns: { x: new Float64Array(200_000).fill(1.5) } });
      const copying = staging.copyTo(${JSON.stringify(join(dir.path, "out"))} + i + ".parquet", "format parquet");
      copying.catch(() => {});
      await staging.close();
      await copying.catch(() => {});
    }
    console.log("done");
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", join(ROOT, "deno.json"), script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "done");
});
