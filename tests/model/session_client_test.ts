/**
 * A model loaded with `worker: true` runs in a worker thread and gives the
 * in-process session's bits for every model we know (the course's, the
 * synthetic and the real exports, ZipMaps rewritten at load among them),
 * leaves the calling thread free while it runs, and fails as the in-process
 * one does.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { loadModel, ModelError } from "../../src/model/mod.ts";
import { WORKER_FIRST_BYTES } from "../../src/model/load_model.ts";
import { encodeModel } from "../../src/model/onnx_proto.ts";
import { openWorkerSession } from "../../src/model/session_client.ts";
import { rowsToColumns } from "../../src/rows.ts";
import { ALL_CASES } from "../byom_cases.ts";
import { FIXTURES, MODELS, rejection, ROOT, tempDir } from "../helpers.ts";

const COURSE = ["ride-duration-linreg", "ride-duration-rf"].map((name) => ({
  name,
  path: join(MODELS, name),
  rows: [
    { PULocationID: 10, DOLocationID: 50, trip_distance: 40 },
    { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 },
    { PULocationID: 43, DOLocationID: 151, trip_distance: null },
  ],
}));

Deno.test("model in a worker: the same bits as in process", async (t) => {
  for (const c of [...COURSE, ...ALL_CASES]) {
    await t.step(c.name, async () => {
      const here = await loadModel(c.path);
      const there = await loadModel(c.path, { worker: true });
      try {
        assert.deepEqual(there.outputColumns, here.outputColumns);
        // Many rows (the same few, repeated) so a run is not a lone row's.
        const rows = Array.from({ length: 300 }, (_, i) => c.rows[i % c.rows.length]);
        const columns = rowsToColumns(rows);
        const [a, b] = await Promise.all([here.predict(columns, rows.length), there.predict(columns, rows.length)]);
        assert.deepEqual(b, a);
      } finally {
        await here.close();
        await there.close();
      }
    });
  }
});

Deno.test("model in a worker, auto: as its cost a row says", async (t) => {
  // Far from the threshold either way (0.25 us a row): a forest of 100 trees ~2.4 us, one small matrix ~0.02 us.
  for (
    const [name, path, inWorker] of [
      ["a forest goes to a worker", join(MODELS, "ride-duration-rf"), true],
      ["one matrix product stays", join(FIXTURES, "models", "byom", "nk_regressor"), false],
    ] as const
  ) {
    await t.step(name, async () => {
      // The cost is timed: on a machine busy with other tests for every timed run, a light model can look heavy
      // (never the other way). Placed as its cost says in one of three loads, then; always placed wrong fails.
      const placed: boolean[] = [];
      for (let load = 0; load < 3 && !placed.includes(inWorker); load++) {
        const model = await loadModel(path, { worker: "auto" });
        placed.push(model.inWorker);
        await model.close();
      }
      assert.ok(placed.includes(inWorker), `in a worker: ${placed.join(", ")}`);
    });
  }
  await t.step("asked for, or not, it is where it was asked", async () => {
    for (const worker of [true, false]) {
      const model = await loadModel(join(FIXTURES, "models", "byom", "nk_regressor"), { worker });
      assert.equal(model.inWorker, worker);
      await model.close();
    }
  });
});

Deno.test("model in a worker: the calling thread runs while the model scores", async () => {
  const model = await loadModel(join(MODELS, "ride-duration-rf"), { worker: true });
  try {
    const n = 100_000;
    const columns = {
      PULocationID: new BigInt64Array(n).fill(130n),
      DOLocationID: new BigInt64Array(n).fill(205n),
      trip_distance: new Float64Array(n).fill(3.66),
    };
    // A timer armed before the run fires while the run is still out: the calling thread was not held.
    let ticks = 0;
    let done = false;
    const tick = () => {
      ticks++;
      if (!done) setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    const p = await model.predict(columns, n);
    done = true;
    assert.equal(p.columns.duration.length, n);
    assert.ok(ticks >= 3, `the timer ticked ${ticks} times during the run`);
  } finally {
    await model.close();
  }
});

Deno.test("model in a worker: failures", async (t) => {
  await t.step("a run onnxruntime refuses rejects with its message", async () => {
    const session = await openWorkerSession(
      await Deno.readFile(join(MODELS, "ride-duration-linreg", "model.onnx")),
      { intraOpNumThreads: 1 },
    );
    try {
      const feeds = { PULocationID: new ort.Tensor("float32", new Float32Array([1]), [1]) };
      const err = await rejection(() => session.run(feeds, ["duration"]));
      assert.match(err.message, /input|PULocationID|type/i);
    } finally {
      await session.release();
    }
  });
  await t.step("bytes onnxruntime cannot load: the worker is stopped, the error given", async () => {
    const err = await rejection(() => openWorkerSession(new TextEncoder().encode("not a model"), {}));
    assert.match(err.message, /protobuf|parse|model/i);
  });
  await t.step("close during a run waits for it to end (the worker is not stopped inside onnxruntime)", async () => {
    const model = await loadModel(join(MODELS, "ride-duration-rf"), { worker: true });
    const n = 50_000;
    const running = model.predict({
      PULocationID: new BigInt64Array(n).fill(130n),
      DOLocationID: new BigInt64Array(n).fill(205n),
      trip_distance: new Float64Array(n).fill(3.66),
    }, n);
    running.catch(() => {});
    await model.close();
    // The worker answered the run before it let the session go: the run's own answer came first.
    const p = await running;
    assert.equal(p.columns.duration.length, n);
  });
  await t.step("a run after close rejects, it does not hang", async () => {
    const model = await loadModel(join(MODELS, "ride-duration-linreg"), { worker: true });
    await model.close();
    const err = await rejection(() => model.predict({ PULocationID: [1], DOLocationID: [2], trip_distance: [3] }, 1));
    assert.ok(err instanceof ModelError);
    assert.match(err.message, /closed/);
  });
});

/**
 * A model file of `width` x `rows` float32 weights (4 bytes each) fed by one input: `matmul` multiplies a row of
 * `rows` values by the weights (every weight, every row: heavy), `gather` looks up the row its index names (light).
 */
function largeModel(kind: "matmul" | "gather" | "per-run", rows: number, width: number): Uint8Array {
  const weights = new Uint8Array(new Float32Array(rows * width).map((_, i) => ((i % 97) - 48) / 97).buffer);
  const input = kind === "matmul"
    ? { name: "x", type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: "N" }, { dimValue: rows }] } } } }
    : { name: "i", type: { tensorType: { elemType: 7, shape: { dim: [{ dimParam: "N" }] } } } };
  const gather = { opType: "Gather", input: ["w", "i"], output: ["y"], attribute: [{ name: "axis", type: 2, i: 0 }] };
  // per-run: every weight multiplied by a 1 made from the input (so not folded at load), then the lookup.
  const nodes = kind === "matmul"
    ? [{ opType: "MatMul", input: ["x", "w"], output: ["y"] }]
    : kind === "gather"
    ? [gather]
    : [
      { opType: "Cast", input: ["i"], output: ["f"], attribute: [{ name: "to", type: 2, i: 1 }] },
      { opType: "ReduceMax", input: ["f"], output: ["m"], attribute: [{ name: "keepdims", type: 2, i: 0 }] },
      { opType: "Mul", input: ["m", "zero"], output: ["z"] },
      { opType: "Add", input: ["z", "one"], output: ["o"] },
      { opType: "Mul", input: ["w0", "o"], output: ["w"] },
      gather,
    ];
  const scalar = (name: string, v: number) => ({
    name,
    dims: [],
    dataType: 1,
    rawData: new Uint8Array(new Float32Array([v]).buffer),
  });
  return encodeModel({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: kind,
      node: nodes,
      initializer: kind === "per-run"
        ? [{ name: "w0", dims: [rows, width], dataType: 1, rawData: weights }, scalar("zero", 0), scalar("one", 1)]
        : [{ name: "w", dims: [rows, width], dataType: 1, rawData: weights }],
      input: [input],
      output: [{
        name: "y",
        type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: "N" }, { dimValue: width }] } } },
      }],
    },
  });
}

Deno.test("a large model is made in its worker first, and comes back to this thread only if it is light", async (t) => {
  await using dir = await tempDir();
  const cases = [
    // 1.1M multiply-adds a row: heavy; a lookup a row: light. Both files past the threshold.
    { name: "heavy: a worker", kind: "matmul", rows: 1100, width: 1000, inWorker: true },
    { name: "light: in process", kind: "gather", rows: 1_100_000, width: 1, inWorker: false },
    // A lookup again, but after multiplying the whole table on every run: heavy whatever the rows.
    {
      name: "heavy on every run, however few its rows: a worker",
      kind: "per-run",
      rows: 1_100_000,
      width: 1,
      inWorker: true,
    },
  ] as const;
  for (const c of cases) {
    await t.step(c.name, async () => {
      const path = join(dir.path, `${c.kind}.onnx`);
      const bytes = largeModel(c.kind, c.rows, c.width);
      assert.ok(bytes.length >= WORKER_FIRST_BYTES, `${bytes.length} bytes`);
      await Deno.writeFile(path, bytes);
      const here = await loadModel(path, { worker: false });
      // A busy machine can make a light model look heavy (never the other way): three loads at most.
      let auto = await loadModel(path, { worker: "auto" });
      for (let load = 1; load < 3 && auto.inWorker !== c.inWorker; load++) {
        await auto.close();
        auto = await loadModel(path, { worker: "auto" });
      }
      try {
        assert.equal(auto.inWorker, c.inWorker);
        const columns = c.kind === "matmul"
          ? rowsToColumns([Object.fromEntries(Array.from({ length: c.rows }, (_, k) => [`x_${k}`, k / c.rows]))])
          : { i: new BigInt64Array([7n]) };
        assert.deepEqual(await auto.predict(columns, 1), await here.predict(columns, 1));
      } finally {
        await auto.close();
        await here.close();
      }
      // In a process of its own, which ends only once every worker has (an idle one keeps it alive): the worker
      // that made a light model is not left behind.
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          ...["run", "--allow-all", "--quiet", "--config", join(ROOT, "deno.json")],
          ...[AUTO_CHILD, path, c.inWorker ? "worker" : "main"],
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      assert.equal(new TextDecoder().decode(out.stdout).trim().split(" ").at(-1), c.inWorker ? "worker" : "main");
    });
  }
});

const AUTO_CHILD = fileURLToPath(new URL("./fixtures/load_model_auto.ts", import.meta.url));
