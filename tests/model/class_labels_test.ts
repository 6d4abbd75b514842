/**
 * Class labels read off the graph: which outputs are provably a
 * classifier's probabilities, and the columns a loaded model names by them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { classLabels } from "../../src/model/class_labels.ts";
import { loadModel } from "../../src/model/mod.ts";
import { type ModelProto, type NodeProto, readModel } from "../../src/model/onnx_reader.ts";
import { REAL } from "../byom_cases.ts";
import { FIXTURES } from "../helpers.ts";

const BYOM = join(FIXTURES, "models", "byom");
const text = new TextEncoder();

async function labelsOf(path: string) {
  return Object.fromEntries(
    [...classLabels(readModel(await Deno.readFile(join(path, "model.onnx"))))].map((
      [o, l],
    ) => [o, [l.from, l.labels]]),
  );
}

/** A graph of `nodes` whose outputs are `outputs` (types left out: classLabels reads names and attributes). */
function graph(nodes: NodeProto[], outputs: string[]): ModelProto {
  return { graph: { node: nodes, output: outputs.map((name) => ({ name })) } };
}

function classifier(labels: string[], probabilities = "probabilities"): NodeProto {
  return {
    opType: "LinearClassifier",
    domain: "ai.onnx.ml",
    input: ["x"],
    output: ["label", probabilities],
    attribute: [{ name: "classlabels_strings", strings: labels.map((l) => text.encode(l)) }],
  };
}

function node(opType: string, input: string, output: string): NodeProto {
  return { opType, domain: "", input: [input], output: [output] };
}

Deno.test("classLabels: the outputs a classifier's probabilities feed, by file", async (t) => {
  const cases: [string, string, Record<string, [string, string[]]>][] = [
    ["an SVC without a ZipMap, string labels", join(BYOM, "svc_strings"), {
      probabilities: ["SVMClassifier", ["cat", "dog", "bird"]],
    }],
    ["an SVC without probabilities: pairwise scores, no labels", join(BYOM, "svc_pairwise"), {}],
    ["int64 labels through Softmax and Identity", join(BYOM, "linear_int64_labels"), {
      probabilities: ["LinearClassifier", ["3", "7", "11"]],
    }],
    ["a ZipMap classifier: its output too (the ZipMap's own labels win at load)", join(BYOM, "zipmap_strings"), {
      output_probability: ["LinearClassifier", ["setosa", "versicolor", "virginica"]],
    }],
    ["CatBoost: a TreeEnsembleClassifier's own outputs", join(REAL, "catboost_ckd"), {
      probabilities: ["TreeEnsembleClassifier", ["0", "1"]],
    }],
    ["an MLP: no classifier node, no labels", join(REAL, "skl_mlp_heart_zipmap"), {}],
    ["a regressor", join(REAL, "xgb_housing_regressor"), {}],
  ];
  for (const [name, path, want] of cases) {
    await t.step(name, async () => assert.deepEqual(await labelsOf(path), want));
  }
  await t.step("skl2onnx: through a Normalizer into the ZipMap, 28 labels in the classifier's order", async () => {
    const found = await labelsOf(join(REAL, "skl_logreg_string_labels"));
    assert.deepEqual(Object.keys(found), ["output_probability"]);
    const [from, labels] = found.output_probability;
    assert.equal(from, "LinearClassifier");
    assert.equal(labels.length, 28);
    assert.deepEqual(labels.slice(0, 4), ["A", "B", "C", "Computacao"]);
  });
});

Deno.test("classLabels: only what keeps one value per class", async (t) => {
  const cases: [string, ModelProto, string[]][] = [
    ["the classifier's own output", graph([classifier(["a", "b"])], ["label", "probabilities"]), ["probabilities"]],
    [
      "through Cast, Normalizer, Softmax and Identity",
      graph([
        classifier(["a", "b"], "p0"),
        node("Cast", "p0", "p1"),
        node("Normalizer", "p1", "p2"),
        node("Softmax", "p2", "p3"),
        node("Identity", "p3", "out"),
      ], ["out"]),
      ["out"],
    ],
    ["not through an ArgMax", graph([classifier(["a", "b"], "p0"), node("ArgMax", "p0", "out")], ["out"]), []],
    ["not through a Mul", graph([classifier(["a", "b"], "p0"), node("Mul", "p0", "out")], ["out"]), []],
    ["not the label output", graph([classifier(["a", "b"])], ["label"]), []],
    ["not labels that repeat (columns would clash)", graph([classifier(["a", "a"])], ["probabilities"]), []],
    [
      "not a classifier outside ai.onnx.ml",
      graph([{ ...classifier(["a", "b"]), domain: "com.example" }], ["probabilities"]),
      [],
    ],
  ];
  for (const [name, model, want] of cases) {
    await t.step(name, () => assert.deepEqual([...classLabels(model).keys()], want));
  }
});

Deno.test("loadModel: a classifier without a ZipMap names its probability columns by its labels", async (t) => {
  const cases: [string, string, string, string[], string[], string][] = [
    ["string labels", join(BYOM, "svc_strings"), "probabilities", ["cat", "dog", "bird"], [
      "probabilities_cat",
      "probabilities_dog",
      "probabilities_bird",
    ], "SVMClassifier"],
    ["int64 labels", join(BYOM, "linear_int64_labels"), "probabilities", ["3", "7", "11"], [
      "probabilities_3",
      "probabilities_7",
      "probabilities_11",
    ], "LinearClassifier"],
    [
      "a ZipMap's, unchanged",
      join(BYOM, "zipmap_strings"),
      "output_probability",
      [
        "setosa",
        "versicolor",
        "virginica",
      ],
      ["output_probability_setosa", "output_probability_versicolor", "output_probability_virginica"],
      "ZipMap",
    ],
  ];
  for (const [name, path, output, labels, columns, from] of cases) {
    await t.step(name, async () => {
      const model = await loadModel(path);
      try {
        const o = model.outputs.find((x) => x.name === output)!;
        assert.deepEqual([o.labels, o.columns, o.labelsFrom], [labels, columns, from]);
      } finally {
        await model.close();
      }
    });
  }
  await t.step("pairwise scores keep their numbered columns", async () => {
    const model = await loadModel(join(BYOM, "svc_pairwise"));
    try {
      const o = model.outputs.find((x) => x.name === "scores")!;
      assert.deepEqual([o.labels, o.columns], [undefined, ["scores_0", "scores_1", "scores_2"]]);
    } finally {
      await model.close();
    }
  });
  await t.step("the manifest's labels still win, and --rename renames the labelled columns", async () => {
    const manifest = { outputs: { probabilities: { labels: ["p_cat", "p_dog", "p_bird"] } } };
    let model = await loadModel(join(BYOM, "svc_strings"), { manifest });
    try {
      assert.deepEqual(model.outputs[1].columns, ["p_cat", "p_dog", "p_bird"]);
    } finally {
      await model.close();
    }
    model = await loadModel(join(BYOM, "svc_strings"), { renames: { probabilities: "proba" } });
    try {
      assert.deepEqual(model.outputs[1].columns, ["proba_cat", "proba_dog", "proba_bird"]);
    } finally {
      await model.close();
    }
  });
});
