/**
 * prepareSource: the file reader's worker starts ahead only for an input
 * whose source will take it (a Parquet file, a CSV file too large to read in
 * place), the source opened next takes it and reads every row, and an input
 * it cannot tell about is left for openSource to refuse.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { IN_PROCESS_MAX_BYTES } from "../../src/sources/csv_source.ts";
import { openSource, prepareSource } from "../../src/sources/mod.ts";
import { DATA, rejection, tempDir } from "../helpers.ts";

const PARQUET = join(DATA, "green_tripdata_2021-02.parquet");

Deno.test("prepareSource", async (t) => {
  await using dir = await tempDir();
  const small = join(dir.path, "small.csv");
  await Deno.writeTextFile(small, "a,b\n1,2\n");
  const large = join(dir.path, "large.csv");
  const rows = Math.ceil(IN_PROCESS_MAX_BYTES / 8) + 1;
  await Deno.writeTextFile(large, "a,b\n" + "123,456\n".repeat(rows));
  const jsonl = join(dir.path, "rows.jsonl");
  await Deno.writeTextFile(jsonl, '{"a":1}\n');

  const cases = [
    { name: "a Parquet file: started", path: PARQUET, started: true },
    { name: "a CSV file too large to read in place: started", path: large, started: true },
    { name: "a small CSV file (read in place): nothing", path: small, started: false },
    { name: "JSON lines: nothing", path: jsonl, started: false },
    { name: "standard input: nothing", path: "-", started: false },
    { name: "a Postgres URL: nothing", path: "postgres://postgres@127.0.0.1:5432/test", started: false },
    { name: "a file that is not there: nothing", path: join(dir.path, "nope.parquet"), started: false },
    { name: "an unknown extension: nothing", path: join(dir.path, "rows.xlsx"), started: false },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const prepared = await prepareSource(c.path);
      try {
        assert.equal(prepared.started, c.started);
      } finally {
        await prepared.release();
      }
    });
  }

  await t.step(
    "the source opened next takes the worker and reads every row; released after, it is not closed",
    async () => {
      for (const [path, expected] of [[PARQUET, 64_572], [large, rows]] as const) {
        const prepared = await prepareSource(path);
        const source = await openSource(path);
        await prepared.release();
        try {
          let n = 0;
          for await (const b of source.batches({ batchSize: 10_000 })) n += b.length;
          assert.equal(n, expected, path);
        } finally {
          await source.close();
        }
      }
    },
  );

  await t.step("what openSource refuses, it still refuses: a file that is not there", async () => {
    const path = join(dir.path, "nope.parquet");
    const prepared = await prepareSource(path);
    try {
      assert.match((await rejection(() => openSource(path))).message, /Input file not found/);
    } finally {
      await prepared.release();
    }
  });
});
