import assert from "node:assert/strict";
import { join } from "node:path";
import { attributeList, decodeModel, encodeModel } from "../../src/model/onnx_proto.ts";
import { unzipMaps } from "../../src/model/zipmap.ts";
import { REAL_CASES, SYNTHETIC_CASES } from "../byom_cases.ts";
import { FIXTURES } from "../helpers.ts";

const BYOM = join(FIXTURES, "models", "byom");
const files = [...SYNTHETIC_CASES, ...REAL_CASES].map((c) => ({ name: c.name, path: join(c.path, "model.onnx") }));

Deno.test("onnx-proto adapter: a decode and encode keeps every model whole", async (t) => {
  for (const { name, path } of files) {
    await t.step(name, async () => {
      const bytes = await Deno.readFile(path);
      const model = decodeModel(bytes);
      const once = encodeModel(model);
      const again = decodeModel(once);
      // Encoding what was decoded is a fixed point, and the graph keeps its parts.
      assert.deepEqual(encodeModel(again), once);
      assert.equal(again.graph?.node?.length, model.graph?.node?.length);
      assert.deepEqual(again.graph?.input?.map((i) => i.name), model.graph?.input?.map((i) => i.name));
      assert.deepEqual(again.graph?.output?.map((o) => o.name), model.graph?.output?.map((o) => o.name));
      assert.equal(again.graph?.initializer?.length ?? 0, model.graph?.initializer?.length ?? 0);
      assert.equal(String(again.irVersion), String(model.irVersion));
      assert.deepEqual(
        again.opsetImport?.map((o) => `${o.domain}:${o.version}`),
        model.opsetImport?.map((o) => `${o.domain}:${o.version}`),
      );
    });
  }
  await t.step("int64 attributes beyond 2^53 stay exact", async () => {
    const model = decodeModel(await Deno.readFile(join(BYOM, "zipmap_int64", "model.onnx")));
    const zipMap = model.graph!.node!.find((n) => n.opType === "ZipMap")!;
    assert.deepEqual(attributeList(zipMap, "classlabels_int64s"), ["10", "20", "9007199254740993"]);
    const again = decodeModel(encodeModel(model));
    const classifier = again.graph!.node!.find((n) => n.opType === "LinearClassifier")!;
    assert.deepEqual(attributeList(classifier, "classlabels_ints"), ["10", "20", "9007199254740993"]);
  });
});

Deno.test("unzipMaps: a ZipMap's output becomes the probability tensor under the same name", async (t) => {
  await t.step("string labels", async () => {
    const unzipped = unzipMaps(await Deno.readFile(join(BYOM, "zipmap_strings", "model.onnx")))!;
    assert.deepEqual(unzipped.outputs, [
      { output: "output_probability", labels: ["setosa", "versicolor", "virginica"], labelType: "string" },
    ]);
    const graph = decodeModel(unzipped.bytes).graph!;
    assert.deepEqual(graph.node!.map((n) => n.opType), ["LinearClassifier", "Identity"]);
    assert.deepEqual(graph.node![1].input, ["probability_tensor"]);
    assert.deepEqual(graph.node![1].output, ["output_probability"]);
    const out = graph.output!.find((o) => o.name === "output_probability")!;
    assert.equal(out.type?.tensorType?.elemType, 1); // FLOAT
    assert.equal(Number(out.type?.tensorType?.shape?.dim?.[1]?.dimValue), 3);
    assert.equal(out.type?.sequenceType, null);
  });
  await t.step("int64 labels, as text", async () => {
    const unzipped = unzipMaps(await Deno.readFile(join(BYOM, "zipmap_int64", "model.onnx")))!;
    assert.deepEqual(unzipped.outputs.map((o) => [o.labels, o.labelType]), [[
      ["10", "20", "9007199254740993"],
      "int64",
    ]]);
  });
  await t.step("the real ZipMap exports", async () => {
    const found = [];
    for (const c of REAL_CASES) {
      const unzipped = unzipMaps(await Deno.readFile(join(c.path, "model.onnx")));
      if (unzipped) found.push([c.name, unzipped.outputs.map((o) => `${o.output}:${o.labelType}:${o.labels.length}`)]);
    }
    assert.deepEqual(found, [
      ["skl_logreg_string_labels", ["output_probability:string:28"]],
      ["skl_mlp_heart_zipmap", ["output_probability:int64:2"]],
      ["lgbm_iris_zipmap", ["probabilities:int64:3"]],
    ]);
  });
  await t.step("an export that imports only ai.onnx.ml gets the default domain its Identity needs", async () => {
    const bytes = await Deno.readFile(join(BYOM, "old_onnxmltools", "model.onnx"));
    assert.deepEqual(decodeModel(bytes).opsetImport?.map((o) => o.domain), ["ai.onnx.ml"]);
    const model = decodeModel(unzipMaps(bytes)!.bytes);
    assert.deepEqual(model.opsetImport?.map((o) => `${o.domain}:${o.version}`), ["ai.onnx.ml:1", ":9"]);
    assert.equal(String(model.irVersion), "3");
  });
  await t.step("a model without a ZipMap is left alone", async () => {
    assert.equal(unzipMaps(await Deno.readFile(join(BYOM, "nk_regressor", "model.onnx"))), undefined);
  });
});
