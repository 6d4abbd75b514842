import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel, ModelError } from "../../src/model/mod.ts";
import { FIXTURES, MODELS, rejection, tempDir } from "../helpers.ts";

const MULTI = join(FIXTURES, "models", "multi");

Deno.test("loadModel reads metadata", async (t) => {
  const model = await loadModel(MULTI);
  try {
    await t.step("name and version come from the manifest", () => {
      assert.deepEqual(model.name, "multi-test");
      assert.deepEqual(model.version, "t1");
    });
    await t.step("inputs: names, types, shapes and aliases", () => {
      assert.deepEqual(
        model.inputs.map((i) => [i.name, i.type, i.shape.length]),
        [["x", "float32", 2], ["d", "float64", 1], ["i", "int64", 1], ["j", "int32", 1], ["s", "string", 1], [
          "b",
          "bool",
          1,
        ]],
      );
      assert.deepEqual(model.inputs[1].aliases, ["dee", "D"]);
    });
    await t.step("outputs: [N,2] splits by labels, renames apply, the ZipMap becomes a labelled tensor", () => {
      assert.deepEqual(model.outputColumns.map((c) => c.name), [
        "p_yes",
        "p_no",
        "probs_map_yes",
        "probs_map_no",
        "double_out",
        "i_out",
        "j_out",
        "s_out",
        "not_b",
      ]);
      assert.deepEqual(model.warnings, []);
      const zip = model.outputs.find((o) => o.name === "probs_map")!;
      assert.deepEqual([zip.type, zip.shape, zip.labels], ["float32", ["N", 2], ["yes", "no"]]);
    });
  } finally {
    await model.close();
  }
});

Deno.test("loadModel defaults", async (t) => {
  await using dir = await tempDir();
  const bare = join(dir.path, "my-model.onnx");
  await Deno.copyFile(join(MULTI, "model.onnx"), bare);
  const model = await loadModel(bare, { renames: { probs_0: "first" } });
  try {
    await t.step("a bare .onnx file is named after the file", () => assert.deepEqual(model.name, "my-model"));
    await t.step("the version is a short sha256 of the file", async () => {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(bare)));
      const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
      assert.deepEqual(model.version, hex.slice(0, 12));
    });
    await t.step("without labels an [N,K] output is <output>_<k>; --rename applies", () => {
      assert.deepEqual(model.outputs[0].columns, ["first", "probs_1"]);
    });
  } finally {
    await model.close();
  }
  await t.step("a directory is named after the directory", async () => {
    const m = await loadModel(join(MODELS, "ride-duration-linreg"));
    assert.deepEqual(m.name, "ride-duration-linreg");
    await m.close();
  });
});

Deno.test("loadModel errors", async (t) => {
  await using dir = await tempDir();
  const cases: [string, () => Promise<string>, string, RegExp][] = [
    [
      "missing path",
      () => Promise.resolve(join(dir.path, "nope")),
      "model_not_found",
      /Model not found: ".*nope" does not exist/,
    ],
    [
      "directory without model.onnx",
      async () => {
        await Deno.mkdir(join(dir.path, "empty"));
        return join(dir.path, "empty");
      },
      "model_not_found",
      /has no model\.onnx/,
    ],
    [
      "not an ONNX file",
      async () => {
        await Deno.writeTextFile(join(dir.path, "junk.onnx"), "this is not protobuf");
        return join(dir.path, "junk.onnx");
      },
      "bad_model",
      /Cannot load model .*junk\.onnx/,
    ],
    [
      "manifest that is not JSON",
      async () => {
        await Deno.mkdir(join(dir.path, "badjson"));
        await Deno.copyFile(join(MULTI, "model.onnx"), join(dir.path, "badjson", "model.onnx"));
        await Deno.writeTextFile(join(dir.path, "badjson", "model.json"), "{ nope");
        return join(dir.path, "badjson");
      },
      "bad_model",
      /Invalid model manifest .*model\.json/,
    ],
    [
      "manifest with a wrong field type",
      async () => {
        await Deno.mkdir(join(dir.path, "badfield"));
        await Deno.copyFile(join(MULTI, "model.onnx"), join(dir.path, "badfield", "model.onnx"));
        await Deno.writeTextFile(
          join(dir.path, "badfield", "model.json"),
          JSON.stringify({ inputs: { d: { aliases: "D" } } }),
        );
        return join(dir.path, "badfield");
      },
      "bad_model",
      /"inputs\.d\.aliases" is not a list of strings/,
    ],
    [
      "labels that do not match the output width",
      async () => {
        await Deno.mkdir(join(dir.path, "badlabels"));
        await Deno.copyFile(join(MULTI, "model.onnx"), join(dir.path, "badlabels", "model.onnx"));
        await Deno.writeTextFile(
          join(dir.path, "badlabels", "model.json"),
          JSON.stringify({ outputs: { probs: { labels: ["a"] } } }),
        );
        return join(dir.path, "badlabels");
      },
      "bad_model",
      /has 2 columns but the manifest's "outputs.probs.labels" gives 1/,
    ],
  ];
  for (const [name, make, code, message] of cases) {
    await t.step(name, async () => {
      const path = await make();
      const err = await rejection(() => loadModel(path));
      assert.ok(err instanceof ModelError);
      assert.deepEqual(err.code, code);
      assert.match(err.message, message);
    });
  }
});

Deno.test("onnxruntime's own log lines stay off stderr; a failed run's message comes back as the error", async (t) => {
  const child = fileURLToPath(new URL("./fixtures/failed_run.ts", import.meta.url));
  for (const where of ["in process", "worker"]) {
    await t.step(where, async () => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--allow-all", child, where],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.equal(stderr, "");
      const { error } = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.match(
        error,
        /^Model "gather_table" failed to run: .*Gather.*indices element out of data bounds, idx=99 must be within the inclusive range \[-10,9\]/,
      );
    });
  }
});
