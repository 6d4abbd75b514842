/**
 * Models whose weights are external data (PyTorch 2.x's `model.onnx` +
 * `model.onnx.data`): the files a graph names, the same bits as the same
 * model with its weights inside, the version covering the data, and the
 * refusals (a location outside the folder, a missing file).
 */
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { externalDataFiles } from "../../src/model/external_data.ts";
import { loadModel, ModelError } from "../../src/model/mod.ts";
import { decodeModel } from "../../src/model/onnx_proto.ts";
import { unzipMaps } from "../../src/model/zipmap.ts";
import { EMBEDDED, SYNTHETIC_CASES } from "../byom_cases.ts";
import { FIXTURES, rejection, tempDir, thrown } from "../helpers.ts";

const BYOM = join(FIXTURES, "models", "byom");
const BAD = join(FIXTURES, "models", "external_data");
const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

Deno.test("externalDataFiles: the files a graph keeps its tensors in, refused outside its folder", async (t) => {
  const cases: [string, string, string[]][] = [
    ["one file beside the .onnx", join(BYOM, "external_data"), ["model.onnx.data"]],
    ["one file in a subfolder", join(BYOM, "external_data_zipmap"), ["weights/classifier.bin"]],
    ["weights inside the .onnx", join(EMBEDDED, "external_data"), []],
    ["a graph with no tensors to speak of", join(BYOM, "zipmap_strings"), []],
  ];
  for (const [what, dir, want] of cases) {
    await t.step(what, async () => {
      assert.deepEqual(externalDataFiles(await Deno.readFile(join(dir, "model.onnx")), dir), want);
    });
  }
  for (
    const [name, location] of [["escapes_parent", "../model.onnx.data"], ["escapes_absolute", "/tmp/model.onnx.data"]]
  ) {
    await t.step(`${location} is refused, naming the tensor and the file`, () => {
      const err = thrown(() => externalDataFiles(Deno.readFileSync(join(BAD, name, "model.onnx")), "m.onnx"));
      assert.ok(err instanceof ModelError);
      assert.equal(err.code, "bad_model");
      assert.equal(
        err.message,
        `Model m.onnx: tensor "fc1.weight" keeps its data in "${location}", which is not a file inside the model's ` +
          `folder (external data must sit beside the .onnx file or below it)`,
      );
    });
  }
});

Deno.test("onnxruntime: a session made from bytes takes external data as given, and copies it", async (t) => {
  const dir = join(BYOM, "external_data");
  const bytes = await Deno.readFile(join(dir, "model.onnx"));
  const x = new ort.Tensor("float32", new Float32Array([1, 2, 3, 4]), [1, 4]);
  await t.step("without externalData it looks in the working directory, and fails", async () => {
    const err = await rejection(() => ort.InferenceSession.create(bytes, { logSeverityLevel: 3 }));
    assert.match(err.message, /external data/i);
  });
  await t.step("with externalData it loads; the buffers may change or go once it is made", async () => {
    const data = await Deno.readFile(join(dir, "model.onnx.data"));
    const session = await ort.InferenceSession.create(bytes, {
      logSeverityLevel: 3,
      externalData: [{ path: "model.onnx.data", data }],
    });
    try {
      const before = (await session.run({ features: x })).prediction.data;
      data.fill(0);
      assert.deepEqual((await session.run({ features: x })).prediction.data, before);
    } finally {
      await session.release();
    }
  });
});

Deno.test("a model with external data scores as its twin with embedded weights, bit for bit", async (t) => {
  for (const name of ["external_data", "external_data_zipmap"]) {
    const rows = SYNTHETIC_CASES.find((c) => c.name === name)!.rows;
    const columns = Object.fromEntries(Object.keys(rows[0]).map((k) => [k, rows.map((r) => r[k])]));
    for (const worker of [false, true]) {
      await t.step(`${name}${worker ? ", in a worker" : ""}`, async () => {
        const external = await loadModel(join(BYOM, name), { worker });
        const embedded = await loadModel(join(EMBEDDED, name), { worker });
        try {
          assert.equal(external.inWorker, worker);
          assert.deepEqual(external.outputColumns, embedded.outputColumns);
          const got = await external.predict(columns, rows.length);
          const want = await embedded.predict(columns, rows.length);
          assert.deepEqual(got.columns, want.columns);
          assert.equal(got.rejects.length, 0);
        } finally {
          await external.close();
          await embedded.close();
        }
      });
    }
  }
  await t.step("a bare .onnx file path, its data file beside it", async () => {
    const bare = await loadModel(join(BYOM, "external_data", "model.onnx"));
    const embedded = await loadModel(join(EMBEDDED, "external_data", "model.onnx"));
    try {
      assert.equal(bare.name, "model");
      const row = { features: [[0.5, -1, 2, 0.25]] };
      assert.deepEqual((await bare.predict(row, 1)).columns, (await embedded.predict(row, 1)).columns);
    } finally {
      await bare.close();
      await embedded.close();
    }
  });
});

Deno.test("the version of a model with external data covers its data files", async (t) => {
  await using dir = await tempDir();
  const source = join(BYOM, "external_data");
  const copy = join(dir.path, "mlp");
  await Deno.mkdir(copy);
  for (const f of ["model.onnx", "model.onnx.data"]) await Deno.copyFile(join(source, f), join(copy, f));
  const onnx = await Deno.readFile(join(copy, "model.onnx"));
  const data = await Deno.readFile(join(copy, "model.onnx.data"));
  const row = { features: [[1, 2, 3, 4]] };
  const before = await loadModel(copy);
  await t.step("sha256 of the .onnx's sha256, then each data file's sha256 and location", () => {
    const want = sha256(`${sha256(onnx)}\n${sha256(data)}  model.onnx.data\n`).slice(0, 12);
    assert.equal(before.version, want);
  });
  await t.step("a model without external data keeps the .onnx's sha256", async () => {
    const twin = join(EMBEDDED, "external_data");
    const model = await loadModel(twin);
    try {
      assert.equal(model.version, sha256(await Deno.readFile(join(twin, "model.onnx"))).slice(0, 12));
    } finally {
      await model.close();
    }
  });
  await t.step(
    "a byte changed in the data file: another version, other predictions; the loaded one unchanged",
    async () => {
      const a = await before.predict(row, 1);
      const flipped = data.slice();
      // The last byte holds the output bias's sign and exponent: every prediction moves.
      flipped[flipped.length - 1] ^= 0x01;
      // Overwritten in place, as cp does: the model loaded before keeps the weights it loaded.
      await Deno.writeFile(join(copy, "model.onnx.data"), flipped);
      const after = await loadModel(copy);
      try {
        assert.notEqual(after.version, before.version);
        assert.deepEqual((await before.predict(row, 1)).columns, a.columns);
        assert.notDeepEqual((await after.predict(row, 1)).columns.prediction, a.columns.prediction);
      } finally {
        await after.close();
        await before.close();
      }
    },
  );
});

Deno.test("external data that cannot be had is refused, naming the file", async (t) => {
  await using dir = await tempDir();
  await t.step("a missing data file: not found, with the path it was expected at", async () => {
    const alone = join(dir.path, "alone");
    await Deno.mkdir(alone);
    await Deno.copyFile(join(BYOM, "external_data", "model.onnx"), join(alone, "model.onnx"));
    const err = await rejection(() => loadModel(alone));
    assert.ok(err instanceof ModelError);
    assert.deepEqual([err.code, err.exitCode], ["model_not_found", 66]);
    assert.equal(
      err.message,
      `Model ${join(alone, "model.onnx")} is incomplete: its graph keeps tensors in "model.onnx.data", ` +
        `expected at ${join(alone, "model.onnx.data")}, which does not exist`,
    );
  });
  for (const name of ["escapes_parent", "escapes_absolute"]) {
    await t.step(`${name}: bad_model (exit 78) before onnxruntime reads anything`, async () => {
      // The file the location points at exists: the refusal is ours, not a missing file's.
      await Deno.copyFile(join(BYOM, "external_data", "model.onnx.data"), join(BAD, "model.onnx.data"));
      try {
        const err = await rejection(() => loadModel(join(BAD, name)));
        assert.deepEqual([err.code, err.exitCode], ["bad_model", 78]);
        assert.match(
          err.message,
          /tensor "fc1\.weight" keeps its data in "(\.\.|\/tmp)\/model\.onnx\.data", which is not/,
        );
      } finally {
        await Deno.remove(join(BAD, "model.onnx.data"));
      }
    });
  }
});

Deno.test("the ZipMap rewrite keeps a graph's external initializers as they were", async () => {
  const bytes = await Deno.readFile(join(BYOM, "external_data_zipmap", "model.onnx"));
  const external = (b: Uint8Array) =>
    decodeModel(b).graph!.initializer!.map((i) => ({
      name: i.name,
      dataLocation: i.dataLocation,
      externalData: i.externalData!.map((e) => [e.key, e.value]),
      rawData: i.rawData?.length ?? 0,
    }));
  const before = external(bytes);
  assert.deepEqual(before.map((i) => [i.name, i.dataLocation, i.rawData]), [["coef", 1, 0], ["intercept", 1, 0]]);
  assert.deepEqual(external(unzipMaps(bytes)!.bytes), before);
});
