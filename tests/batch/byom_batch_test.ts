/**
 * Models people bring, through `runBatch` with real files: CSV with an
 * [N,K] input's K columns, JSON lines with its values as one list; the
 * output (one column per value, one per class for a ZipMap) checked against
 * onnxruntime run directly on the same rows.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runBatch } from "../../src/batch/run_batch.ts";
import { loadModel } from "../../src/model/mod.ts";
import { createSink } from "../../src/sinks/create_sink.ts";
import { openSource } from "../../src/sources/open_source.ts";
import { openPostgresSource } from "../../src/sources/postgres_source.ts";
import { parseJson } from "../../src/value_codec.ts";
import { ALL_CASES, directRun, jsonOf, packedRow } from "../byom_cases.ts";
import { FIXTURES, tempDir } from "../helpers.ts";
import { PG_URL } from "../postgres/helpers.ts";

function csv(rows: Record<string, unknown>[]): string {
  const names = Object.keys(rows[0]);
  const cell = (v: unknown) => (v === null ? "" : `"${String(v).replaceAll('"', '""')}"`);
  return [names.join(","), ...rows.map((row) => names.map((n) => cell(row[n])).join(","))].join("\n") + "\n";
}

async function jsonl(path: string): Promise<Record<string, unknown>[]> {
  return (await Deno.readTextFile(path)).trimEnd().split("\n").map((l) => parseJson(l) as Record<string, unknown>);
}

Deno.test("batch: every model people bring scores CSV and JSON lines files as onnxruntime does", async (t) => {
  await using dir = await tempDir();
  for (const c of ALL_CASES) {
    await t.step(c.name, async () => {
      const model = await loadModel(c.path);
      try {
        const direct = await directRun(model, c.rows);
        const inputs: [string, string][] = [
          [join(dir.path, `${c.name}.csv`), csv(c.rows)],
          [join(dir.path, `${c.name}.jsonl`), c.rows.map((row) => JSON.stringify(packedRow(model, row))).join("\n")],
        ];
        for (const [input, text] of inputs) {
          await Deno.writeTextFile(input, text);
          const output = `${input}.out.jsonl`;
          const summary = await runBatch({
            model,
            source: await openSource(input),
            sink: await createSink(output),
            batchSize: 2,
          });
          assert.deepEqual([summary.read, summary.predicted, summary.rejected], [c.rows.length, c.rows.length, 0]);
          const rows = await jsonl(output);
          for (const [r, row] of rows.entries()) {
            for (const o of model.outputs) {
              const got = o.columns.map((col) => row[col]);
              assert.deepEqual(got, direct.get(o.name)![r].map(jsonOf), `${input} row ${r} output ${o.name}`);
            }
          }
        }
      } finally {
        await model.close();
      }
    });
  }
});

Deno.test("batch: a blank float in a CSV is NaN for a model's imputer; a bad one is rejected naming its column", async () => {
  await using dir = await tempDir();
  const model = await loadModel(join(FIXTURES, "models", "byom", "nk_regressor"));
  try {
    const input = join(dir.path, "iris.csv");
    await Deno.writeTextFile(
      input,
      "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,\n5.1,3.5,1.4,x\n",
    );
    const output = join(dir.path, "out.jsonl");
    const rejects: string[] = [];
    await runBatch({
      model,
      source: await openSource(input),
      sink: await createSink(output),
      batchSize: 10,
      onReject: (_row, error) => rejects.push(error),
    });
    const want =
      (await directRun(model, [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: NaN }]))
        .get("variable")![0][0];
    assert.deepEqual((await jsonl(output)).map((r) => r.variable), [want]);
    assert.deepEqual(rejects, ['Cannot parse row 2: column "petal_width" is not a number (got "x")']);
  } finally {
    await model.close();
  }
});

Deno.test("batch: a CSV header matches an input ignoring case; two headers equal but for case are an error", async (t) => {
  await using dir = await tempDir();
  const model = await loadModel(join(FIXTURES, "models", "byom", "nk_regressor"));
  try {
    await t.step("Sepal_Length feeds sepal_length", async () => {
      const input = join(dir.path, "case.csv");
      await Deno.writeTextFile(input, "Sepal_Length,SEPAL_WIDTH,petal_length,Petal_Width\n5.1,3.5,1.4,0.2\n");
      const output = join(dir.path, "case.jsonl");
      await runBatch({ model, source: await openSource(input), sink: await createSink(output), batchSize: 10 });
      const want =
        (await directRun(model, [{ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }]))
          .get("variable")![0][0];
      assert.deepEqual((await jsonl(output)).map((r) => r.variable), [want]);
    });
    await t.step("Sepal_Length beside SEPAL_LENGTH fails before any row is read, naming both", async () => {
      const input = join(dir.path, "twice.csv");
      await Deno.writeTextFile(
        input,
        "Sepal_Length,SEPAL_LENGTH,sepal_width,petal_length,petal_width\n5.1,5.1,3.5,1.4,0.2\n",
      );
      const err = await runBatch({
        model,
        source: await openSource(input),
        sink: await createSink(join(dir.path, "twice.jsonl")),
        batchSize: 10,
      }).then(() => undefined, (e: Error) => e);
      assert.match(String(err?.message), /"sepal_length" .*differ only in case: "Sepal_Length", "SEPAL_LENGTH"/);
    });
  } finally {
    await model.close();
  }
});

Deno.test("batch: a Postgres array column feeds an [N,K] input (a NULL item is NaN)", async () => {
  await using dir = await tempDir();
  const model = await loadModel(join(FIXTURES, "models", "byom", "nk_regressor"));
  try {
    const source = await openPostgresSource({
      url: PG_URL,
      query: "select 1 as id, array[5.1, 3.5, 1.4, 0.2]::float8[] as float_input " +
        "union all select 2, array[6.7, 3.1, 4.4, null]::float8[] order by id",
    });
    const output = join(dir.path, "pg.jsonl");
    await runBatch({ model, source, sink: await createSink(output), keep: ["id"], batchSize: 10 });
    const direct = await directRun(model, [
      { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
      { sepal_length: 6.7, sepal_width: 3.1, petal_length: 4.4, petal_width: NaN },
    ]);
    assert.deepEqual(
      (await jsonl(output)).map((r) => [r.id, r.variable]),
      [[1, direct.get("variable")![0][0]], [2, direct.get("variable")![1][0]]],
    );
  } finally {
    await model.close();
  }
});
