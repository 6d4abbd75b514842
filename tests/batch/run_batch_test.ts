import assert from "node:assert/strict";
import { join } from "node:path";
import { type BatchJob, type BatchSummary, runBatch } from "../../src/batch/run_batch.ts";
import { CannotWriteError, InputError, TooManyRejectsError } from "../../src/errors.ts";
import { loadModel, type Model, ModelError } from "../../src/model/mod.ts";
import { createSink } from "../../src/sinks/create_sink.ts";
import type { Sink } from "../../src/sinks/sink.ts";
import { openSource } from "../../src/sources/open_source.ts";
import type { Source } from "../../src/sources/source.ts";
import { FIXTURES, rejection, tempDir } from "../helpers.ts";

const MULTI = join(FIXTURES, "models", "multi");
const HEADER = "id,x,d,i,j,s,b\n";

function csvRows(n: number, bad: Record<number, string> = {}): string {
  let text = HEADER;
  for (let r = 0; r < n; r++) text += bad[r] ?? `r${r},0.5,${r}.25,${r},${-r},s${r},${r % 2 === 0}\n`;
  return text;
}

/** Runs `job` from the file `input` into the file `output`, rejects into the file `rejects`, keeping the ids. */
async function batchFiles(
  model: Model,
  input: string,
  output: string,
  rejects: string,
  job: Omit<BatchJob, "model" | "source" | "sink">,
): Promise<BatchSummary> {
  return runBatch({
    model,
    source: await openSource(input),
    sink: await createSink(output),
    rejects: await createSink(rejects),
    keep: ["id"],
    ...job,
  });
}

async function jsonl(path: string): Promise<Record<string, unknown>[]> {
  return (await Deno.readTextFile(path)).trimEnd().split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/** `source`, telling whether it was closed. */
function watched(source: Source): Source & { closed(): boolean } {
  let closed = false;
  return {
    ...source,
    close: () => {
      closed = true;
      return source.close();
    },
    closed: () => closed,
  };
}

Deno.test("runBatch", async (t) => {
  await using dir = await tempDir();
  const model = await loadModel(MULTI);
  try {
    await t.step("scores every row across batches, keeps columns, adds model name and version", async () => {
      const input = join(dir.path, "in.csv");
      await Deno.writeTextFile(input, csvRows(25));
      const output = join(dir.path, "out.jsonl");
      const summary = await runBatch({
        model,
        source: await openSource(input),
        sink: await createSink(output),
        keep: ["id"],
        batchSize: 10,
      });
      assert.equal(summary.read, 25);
      assert.equal(summary.predicted, 25);
      assert.equal(summary.rejected, 0);
      const rows = await jsonl(output);
      assert.equal(rows.length, 25);
      assert.deepEqual(Object.keys(rows[0]), [
        "id",
        "p_yes",
        "p_no",
        "probs_map_yes",
        "probs_map_no",
        "double_out",
        "i_out",
        "j_out",
        "s_out",
        "not_b",
        "model_name",
        "model_version",
      ]);
      assert.deepEqual(rows[24], {
        id: "r24",
        p_yes: 0.5,
        p_no: 0.5,
        probs_map_yes: 0.5,
        probs_map_no: 0.5,
        double_out: 24.25,
        i_out: 24,
        j_out: -24,
        s_out: "s24",
        not_b: false,
        model_name: "multi-test",
        model_version: "t1",
      });
    });
    await t.step("bad rows go to the rejects with row number, reason and data; the rest is scored", async () => {
      const input = join(dir.path, "bad.csv");
      await Deno.writeTextFile(
        input,
        csvRows(12, { 3: "r3,0.5,abc,3,-3,s3,true\n", 10: "r10,0.5\n", 11: "r11,0.5,1,2.5,1,s,true\n" }),
      );
      const output = join(dir.path, "bad_out.csv");
      const rejects = join(dir.path, "rejects.jsonl");
      const seen: number[] = [];
      const summary = await batchFiles(model, input, output, rejects, {
        batchSize: 5,
        onReject: (row) => seen.push(row),
      });
      assert.deepEqual([summary.read, summary.predicted, summary.rejected], [12, 9, 3]);
      const out = (await Deno.readTextFile(output)).trimEnd().split("\n");
      assert.equal(out.length, 10);
      assert.ok(!out.some((l) => l.startsWith("r3,") || l.startsWith("r10,") || l.startsWith("r11,")));
      const bad = await jsonl(rejects);
      assert.deepEqual(bad.map((r) => [r.row, r.error]), [
        [4, 'Cannot parse row 4: column "d" is not a number (got "abc")'],
        [11, "Cannot parse row 11: it has 2 fields, the header has 7"],
        [12, 'Cannot parse row 12: column "i" is not an integer (got "2.5")'],
      ]);
      assert.equal((bad[0].data as Record<string, unknown>).d, "abc");
      assert.equal(bad[0].model_version, "t1");
      assert.deepEqual(seen, [4, 11, 12]);
    });
    await t.step("a missing input column fails before any row is read or any file is written", async () => {
      const input = join(dir.path, "missing.csv");
      await Deno.writeTextFile(input, "id,x,d\n1,2,3\n");
      const output = join(dir.path, "never.csv");
      const source = watched(await openSource(input));
      const err = await rejection(async () =>
        runBatch({ model, source, sink: await createSink(output), batchSize: 10 })
      );
      assert.ok(source.closed(), "the source (its DuckDB) is closed");
      assert.ok(err instanceof ModelError);
      assert.match(
        err.message,
        /Missing input columns for model "multi-test": "i", "j", "s", "b" \(columns present: "id", "x", "d"\)/,
      );
      await assert.rejects(() => Deno.stat(output), Deno.errors.NotFound);
    });
    await t.step("an unknown --keep column is a clear error", async () => {
      const input = join(dir.path, "keep.csv");
      await Deno.writeTextFile(input, csvRows(1));
      const err = await rejection(async () =>
        runBatch({
          model,
          source: await openSource(input),
          sink: await createSink(join(dir.path, "k.csv")),
          keep: ["nope"],
          batchSize: 10,
        })
      );
      assert.ok(err instanceof InputError);
      assert.match(err.message, /Cannot keep column "nope": the input has no such column/);
    });
    await t.step("past maxRejects the job stops and writes nothing", async () => {
      const input = join(dir.path, "many_bad.csv");
      await Deno.writeTextFile(input, csvRows(50, { 1: "r1,x,1,1,1,s,true\n", 30: "r30,x,1,1,1,s,true\n" }));
      const err = await rejection(async () =>
        runBatch({
          model,
          source: await openSource(input),
          sink: await createSink(join(dir.path, "many_out.csv")),
          rejects: await createSink(join(dir.path, "many_rejects.csv")),
          batchSize: 10,
          maxRejects: 1,
        })
      );
      assert.ok(err instanceof TooManyRejectsError);
      assert.match(
        err.message,
        /^Stopped after 2 rejected rows, more than --max-errors 1: nothing was written\. The first: Cannot parse row 2:/,
      );
      assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) => n.includes("many_")), [
        "many_bad.csv",
      ]);
    });
    await t.step("an aborted signal stops the job between batches and writes nothing", async () => {
      const input = join(dir.path, "signal.csv");
      await Deno.writeTextFile(input, csvRows(50));
      const controller = new AbortController();
      const reason = new Error("stop");
      const err = await rejection(async () =>
        runBatch({
          model,
          source: await openSource(input),
          sink: await createSink(join(dir.path, "signal_out.csv")),
          batchSize: 10,
          signal: controller.signal,
          onProgress: (p) => p.read >= 20 && controller.abort(reason),
        })
      );
      assert.equal(err, reason);
      assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) => n.includes("signal_")), []);
    });
    await t.step("a signal while an output opens: the open's temporary file is removed too", async () => {
      const input = join(dir.path, "slow_open.csv");
      await Deno.writeTextFile(input, csvRows(50));
      const inner = await createSink(join(dir.path, "slow_open_out.csv"));
      const controller = new AbortController();
      const reason = new Error("stop");
      // The open is cut short by the signal while it still runs; it makes its temporary file after that.
      const slow: Sink = {
        ...inner,
        open: async (columns) => {
          controller.abort(reason);
          await new Promise((r) => setTimeout(r, 50));
          await inner.open(columns);
        },
      };
      const err = await rejection(async () =>
        runBatch({ model, source: await openSource(input), sink: slow, batchSize: 10, signal: controller.signal })
      );
      assert.equal(err, reason);
      assert.deepEqual(
        [...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) => n.includes("slow_open_out")),
        [],
      );
    });
    await t.step(
      "an output that cannot open while the first batch is read: its error, the reading stopped",
      async () => {
        const input = join(dir.path, "early.csv");
        await Deno.writeTextFile(input, csvRows(5000));
        const source = watched(await openSource(input));
        const err = await rejection(async () =>
          runBatch({
            model,
            source,
            sink: await createSink(join(dir.path, "no_such_folder", "out.csv")),
            batchSize: 10,
          })
        );
        assert.ok(err instanceof CannotWriteError, String(err));
        assert.ok(source.closed());
        // The read cut short by the close ends there: not read again from the start in JavaScript (its file
        // stream would be left open, and the test's resource check would fail).
      },
    );
    await t.step("a failing sink aborts both sinks: no output, no rejects file", async () => {
      const input = join(dir.path, "fail.csv");
      await Deno.writeTextFile(input, csvRows(30, { 2: "r2,x,1,1,1,s,true\n" }));
      const rejectsPath = join(dir.path, "fail_rejects.csv");
      const inner = await createSink(join(dir.path, "fail_out.csv"));
      let writes = 0;
      const failing: Sink = {
        ...inner,
        write: (b) => (++writes === 2 ? Promise.reject(new Error("disk full")) : inner.write(b)),
      };
      const err = await rejection(async () =>
        runBatch({
          model,
          source: await openSource(input),
          sink: failing,
          rejects: await createSink(rejectsPath),
          batchSize: 10,
        })
      );
      assert.equal(err.message, "disk full");
      assert.deepEqual([...Deno.readDirSync(dir.path)].map((e) => e.name).filter((n) => n.includes("fail_")), []);
    });
  } finally {
    await model.close();
  }
});

Deno.test("runBatch: a row onnxruntime fails on is rejected alone with its message; the rest is scored", async (t) => {
  await using dir = await tempDir();
  // y = 10 * x for x in [0, 10); onnxruntime fails the whole run on any other x (an index out of its table).
  const GATHER = join(FIXTURES, "models", "gather_table");
  const ORT_MESSAGE =
    /^Cannot score row (\d+): Model "gather_table" failed to run: .*indices element out of data bounds, idx=(-?\d+)/;
  // Rows 1-based; a value outside [-10, 10) fails.
  const cases: [string, number[], number, number[]][] = [
    ["one bad row in a batch", [1, 2, 99, 3, 4, 5], 10, [3]],
    ["bad rows in several batches, first and last of a batch", [42, 1, 2, 3, 4, 5, 6, 7, 8, 50], 4, [1, 10]],
    ["a batch of one bad row", [1, 2, 3, 4, 77], 4, [5]],
    ["neighbours", [1, 11, 12, 2, -20, 3, 4], 7, [2, 3, 5]],
  ];
  for (const worker of [false, true]) {
    const model = await loadModel(GATHER, { worker });
    try {
      for (const [name, xs, batchSize, bad] of cases) {
        await t.step(`${name} (model ${worker ? "in a worker" : "in process"})`, async () => {
          const input = join(dir.path, "in.csv");
          await Deno.writeTextFile(input, "id,x\n" + xs.map((x, i) => `r${i + 1},${x}\n`).join(""));
          const output = join(dir.path, "out.jsonl"), rejects = join(dir.path, "rejects.jsonl");
          const summary = await batchFiles(model, input, output, rejects, { batchSize });
          const good = xs.map((x, i) => [`r${i + 1}`, 10 * x]).filter((_, i) => !bad.includes(i + 1));
          assert.deepEqual((await jsonl(output)).map((r) => [r.id, r.y]), good);
          const rejected = await jsonl(rejects);
          assert.deepEqual(rejected.map((r) => r.row), bad);
          for (const r of rejected) {
            const [, row, idx] = ORT_MESSAGE.exec(r.error as string) ?? [];
            assert.equal(Number(row), r.row, r.error as string);
            assert.equal(Number(idx), xs[(r.row as number) - 1], r.error as string);
            assert.deepEqual(r.data, { x: xs[(r.row as number) - 1], id: `r${r.row}` });
          }
          assert.deepEqual([summary.read, summary.predicted, summary.rejected], [xs.length, good.length, bad.length]);
        });
      }
      await t.step(
        `a batch whose every row fails: the model fails, the job stops (model ${
          worker ? "in a worker" : "in process"
        })`,
        async () => {
          const input = join(dir.path, "all_bad.csv");
          await Deno.writeTextFile(input, "x\n1\n2\n30\n40\n");
          const output = join(dir.path, "all_bad_out.jsonl");
          const err = await rejection(async () =>
            runBatch({ model, source: await openSource(input), sink: await createSink(output), batchSize: 2 })
          );
          assert.ok(err instanceof ModelError && err.code === "model_failed", String(err));
          assert.match(err.message, /idx=30 /);
          await assert.rejects(() => Deno.stat(output), Deno.errors.NotFound);
        },
      );
    } finally {
      await model.close();
    }
  }
});
