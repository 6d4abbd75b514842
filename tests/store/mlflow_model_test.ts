/**
 * Reading MLflow's `MLmodel` files: the onnx flavour's file, the run id,
 * the signature; a model without the onnx flavour refused with what to do.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseMlmodel, readMlflowModel } from "../../src/store/mlflow_model.ts";
import { signatureManifest } from "../../src/store/resolve_model.ts";
import { FIXTURES, rejection, tempDir } from "../helpers.ts";

Deno.test("parseMlmodel", async (t) => {
  await t.step("onnx flavour, run id, column signature (required when MLflow says so)", () => {
    const m = parseMlmodel(
      `flavors:
  onnx:
    data: rf.onnx
run_id: 0123abcd
signature:
  inputs: '[{"type": "string", "name": "PULocationID", "required": true}, {"type": "double", "name": "trip_distance"}]'
  outputs: '[{"type": "double"}]'
`,
      "MLmodel",
    );
    assert.deepEqual(m, {
      onnxFile: "rf.onnx",
      runId: "0123abcd",
      inputs: [{ name: "PULocationID", type: "string", required: true }, { name: "trip_distance", type: "double" }],
    });
  });
  await t.step("no run id, no signature", () => {
    assert.deepEqual(parseMlmodel("flavors:\n  onnx:\n    data: model.onnx\n", "MLmodel"), {
      onnxFile: "model.onnx",
      runId: undefined,
      inputs: [],
    });
  });
  const bad: [string, string, RegExp][] = [
    ["not YAML", "flavors: [", /Invalid MLmodel file MLmodel/],
    ["no flavors", "run_id: x\n", /it has no "flavors"/],
    ["a data path leaving the folder", "flavors:\n  onnx:\n    data: ../x.onnx\n", /does not name a file in the model/],
    [
      "an absolute data path",
      "flavors:\n  onnx:\n    data: /other/place/model.onnx\n",
      /does not name a file in the model/,
    ],
    [
      "a data path with a scheme",
      "flavors:\n  onnx:\n    data: s3://b/model.onnx\n",
      /does not name a file in the model/,
    ],
    [
      "a data path with a backslash",
      "flavors:\n  onnx:\n    data: ..\\\\x.onnx\n",
      /does not name a file in the model/,
    ],
    ["a signature that is not JSON", "flavors:\n  onnx:\n    data: m.onnx\nsignature:\n  inputs: '[{'\n", /not JSON/],
  ];
  for (const [name, text, message] of bad) {
    await t.step(`refused: ${name}`, async () => {
      const err = await rejection(() => Promise.resolve().then(() => parseMlmodel(text, "MLmodel")));
      assert.equal(err.exitCode, 78);
      assert.match(err.message, message);
    });
  }
});

Deno.test("readMlflowModel", async (t) => {
  await t.step("the course's rf_pipeline (sklearn only) is refused with how to convert it", async () => {
    const err = await rejection(() => readMlflowModel(join(FIXTURES, "mlflow", "rf_pipeline")));
    assert.equal(err.exitCode, 78);
    assert.match(err.message, /has no onnx flavour \(it has: python_function, sklearn\)/);
    assert.match(err.message, /mlflow\.onnx\.log_model, or convert this one to ONNX: see docs\/models\.md/);
  });
  await t.step("a folder without MLmodel is not an MLflow model", async () => {
    await using dir = await tempDir();
    assert.equal(await readMlflowModel(dir.path), undefined);
  });
});

Deno.test("signatureManifest maps an MLflow signature onto the graph's inputs", async (t) => {
  const col = (name: string, required?: boolean) => ({ name, type: "double", ...(required ? { required } : {}) });
  const cases: [string, ReturnType<typeof col>[], { name: string; shape: (number | string)[] }[], unknown][] = [
    ["required columns that are inputs", [col("a", true), col("b")], [{ name: "a", shape: ["N"] }, {
      name: "b",
      shape: ["N"],
    }], { inputs: { a: { required: true } } }],
    ["nothing required: nothing to say", [col("a")], [{ name: "a", shape: ["N"] }], {}],
    ["one [N,K] input: the signature's columns feed it", [col("x1", true), col("x2", true)], [{
      name: "float_input",
      shape: ["N", 2],
    }], { inputs: { float_input: { columns: ["x1", "x2"], required: true } } }],
    ["a dynamic width takes the signature's count", [col("x1"), col("x2"), col("x3")], [{
      name: "x",
      shape: ["N", "K"],
    }], { inputs: { x: { columns: ["x1", "x2", "x3"] } } }],
    ["a width that differs: nothing guessed", [col("x1"), col("x2")], [{ name: "x", shape: ["N", 3] }], {}],
    ["signature names unknown to a many-input graph: ignored", [col("z", true)], [{ name: "a", shape: ["N"] }, {
      name: "b",
      shape: ["N"],
    }], {}],
  ];
  for (const [name, signature, graph, expected] of cases) {
    await t.step(name, () => assert.deepEqual(signatureManifest(signature, graph), expected));
  }
});
