import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModel, ModelError, parseManifest } from "../../src/model/mod.ts";
import { FIXTURES, rejection } from "../helpers.ts";

const MULTI = join(FIXTURES, "models", "multi");

function columns(n: number, overrides: Record<string, unknown[]> = {}): Record<string, unknown[]> {
  return {
    x: Array.from({ length: n }, (_, i) => i / 10),
    d: Array.from({ length: n }, (_, i) => i + 0.5),
    i: Array.from({ length: n }, (_, i) => i),
    j: Array.from({ length: n }, (_, i) => -i),
    s: Array.from({ length: n }, (_, i) => `s${i}`),
    b: Array.from({ length: n }, (_, i) => i % 2 === 0),
    ...overrides,
  };
}

Deno.test("Model.predict", async (t) => {
  const model = await loadModel(MULTI);
  try {
    await t.step("every output type maps to columns, one value per row", async () => {
      const p = await model.predict(columns(3), 3);
      assert.deepEqual(p.rows, null);
      assert.deepEqual(p.rejects, []);
      assert.deepEqual(Array.from(p.columns.p_yes as Float32Array), [0, Math.fround(0.1), Math.fround(0.2)]);
      assert.deepEqual(Array.from(p.columns.p_no as Float32Array), [1, Math.fround(0.9), Math.fround(0.8)]);
      assert.deepEqual(Array.from(p.columns.double_out as Float64Array), [0.5, 1.5, 2.5]);
      assert.deepEqual(Array.from(p.columns.i_out as BigInt64Array), [0n, 1n, 2n]);
      assert.deepEqual(Array.from(p.columns.j_out as Int32Array), [0, -1, -2]);
      assert.deepEqual(p.columns.s_out, ["s0", "s1", "s2"]);
      assert.deepEqual(Array.from(p.columns.not_b as Uint8Array), [0, 1, 0]);
    });
    await t.step("an alias feeds its input", async () => {
      const { d, ...rest } = columns(2);
      const p = await model.predict({ ...rest, D: d }, 2);
      assert.deepEqual(Array.from(p.columns.double_out as Float64Array), [0.5, 1.5]);
    });
    await t.step("bad values reject their rows only, naming column and value", async () => {
      const p = await model.predict(columns(4, { i: [1, "two", 3, null], x: ["0.5", 0.1, "oops", 0.3] }), 4);
      assert.deepEqual(Array.from(p.rows!), [0]);
      assert.deepEqual(Array.from(p.columns.i_out as BigInt64Array), [1n]);
      assert.deepEqual(p.rejects.map((r) => [r.index, r.column, r.message]), [
        [1, "i", 'column "i" is not an integer (got "two")'],
        [2, "x", 'column "x" is not a number (got "oops")'],
        [3, "i", 'column "i" is missing (expected an integer)'],
      ]);
    });
    await t.step("a required float input rejects a null, a blank float input takes NaN", async () => {
      const p = await model.predict(columns(3, { x: [0.5, null, 0.5], d: [1, 2, ""] }), 3);
      assert.deepEqual(Array.from(p.rows!), [0, 2]);
      assert.deepEqual(p.rejects.map((r) => r.message), ['column "x" is missing (expected a number)']);
      assert.ok(Number.isNaN((p.columns.double_out as Float64Array)[1]));
    });
    await t.step("a huge bad value is quoted short", async () => {
      const huge = { list: Array.from({ length: 10_000 }, (_, i) => i) };
      const p = await model.predict(columns(1, { d: [huge] }), 1);
      assert.equal(p.rejects.length, 1);
      assert.ok(p.rejects[0].message.length < 140, p.rejects[0].message);
      assert.match(p.rejects[0].message, /^column "d" is not a number \(got \{"list":\[0,1,2,.*…\)$/);
    });
    await t.step("a batch whose every row is bad runs nothing and returns empty columns", async () => {
      const p = await model.predict(columns(2, { j: ["a", "b"] }), 2);
      assert.deepEqual(p.rows?.length, 0);
      assert.deepEqual(p.rejects.length, 2);
      assert.deepEqual(p.columns.double_out, []);
    });
    await t.step("selected outputs only", async () => {
      const p = await model.predict(columns(1), 1, { outputs: ["s_out"] });
      assert.deepEqual(Object.keys(p.columns), ["s_out"]);
    });
    await t.step("an unknown output fails before running, naming the outputs there are (a 422, exit 65)", async () => {
      const err = await rejection(() => model.predict(columns(1), 1, { outputs: ["nope"] }));
      assert.ok(err instanceof ModelError);
      assert.deepEqual([err.code, err.status, err.exitCode], ["missing_inputs", 422, 65]);
      assert.match(
        err.message,
        /^Unknown output "nope" for model "multi-test" \(outputs: "probs", "probs_map", "d_out", /,
      );
    });
    await t.step("missing input columns fail before running, naming them and what is there", async () => {
      const { i: _i, j: _j, ...rest } = columns(1);
      const err = await rejection(() => model.predict(rest, 1));
      assert.ok(err instanceof ModelError);
      assert.deepEqual(err.code, "missing_inputs");
      assert.match(
        err.message,
        /Missing input columns for model "multi-test": "i", "j" \(columns present: "x", "d", "s", "b"\)/,
      );
    });
    await t.step("extra columns are ignored", async () => {
      const p = await model.predict({ ...columns(1), extra: ["x"] }, 1);
      assert.deepEqual(p.rejects, []);
    });
  } finally {
    await model.close();
  }
});

Deno.test("Model.resolveInputs keeps its answer per set of names, which requests ask again and again", async (t) => {
  const model = await loadModel(MULTI);
  const names = Object.keys(columns(1));
  try {
    await t.step("the same names: the same answer, not worked out again", () => {
      const first = model.resolveInputs(names);
      assert.equal(model.resolveInputs([...names]), first);
      assert.deepEqual(first.get("d"), { columns: ["d"] });
    });
    await t.step("another set (an alias, another case) gets its own answer", () => {
      const aliased = model.resolveInputs(names.map((n) => n === "d" ? "D" : n));
      assert.deepEqual(aliased.get("d"), { columns: ["D"] });
      const upper = model.resolveInputs(names.map((n) => n === "x" ? "X" : n));
      assert.deepEqual(upper.get("x"), { columns: ["X"] });
      assert.deepEqual(model.resolveInputs(names).get("x"), { columns: ["x"] });
    });
    await t.step("sets whose names join alike are told apart", () => {
      model.resolveInputs(["x", "d", "i", "j", "s", "b"]);
      assert.throws(() => model.resolveInputs(["x\0d", "i", "j", "s", "b"]), ModelError);
    });
    await t.step("a set lacking an input fails every time", () => {
      const lacking = names.filter((n) => n !== "i");
      for (let k = 0; k < 2; k++) assert.throws(() => model.resolveInputs(lacking), ModelError);
    });
    await t.step("past the sets kept, answers are still right", () => {
      for (let k = 0; k < 100; k++) {
        assert.deepEqual(model.resolveInputs([...names, `extra_${k}`]).get("s"), { columns: ["s"] });
      }
    });
  } finally {
    await model.close();
  }
});

Deno.test("Model.predict: categories the model has never seen", async (t) => {
  const onehot = join(FIXTURES, "models", "byom", "onehot");
  const rows = {
    color: ["red", "purple", "blue", "green", "mauve"],
    zone: [10, 10, 99, 20, 0],
    distance: [1, 2, 3, 4, 5],
  };
  await t.step("by default: scored as the model scores them, and counted per row and per column", async () => {
    const model = await loadModel(onehot);
    try {
      assert.deepEqual(model.inputs.map((i) => i.categories), [
        [["red", "green", "blue"]],
        [["10", "20", "30"]],
        undefined,
      ]);
      const p = await model.predict(rows, 5);
      assert.deepEqual([p.rows, p.rejects, p.unknownCategories], [null, [], 3]);
      // a one-hot encoder gives an unknown category all zeros: row 2 ("purple", 10) scores 10*20 + 2*0.5
      assert.deepEqual(Array.from(p.columns.variable as Float32Array), [11.5, 11, 4.5, 24, 2.5]);
      assert.deepEqual(model.unknownCategoryCounts(), [{ column: "color", rows: 2 }, { column: "zone", rows: 2 }]);
      await model.predict(rows, 5);
      assert.deepEqual(model.unknownCategoryCounts(), [{ column: "color", rows: 4 }, { column: "zone", rows: 4 }]);
    } finally {
      await model.close();
    }
  });
  const strict = [
    ["strictCategories: true", { strictCategories: true }],
    ["the manifest's strictCategories", { manifest: { strictCategories: true } }],
  ] as const;
  for (const [name, options] of strict) {
    await t.step(`${name}: each such row rejected, naming its first unknown column and value`, async () => {
      const model = await loadModel(onehot, options);
      try {
        assert.equal(model.strictCategories, true);
        const p = await model.predict(rows, 5);
        assert.deepEqual(Array.from(p.rows!), [0, 3]);
        assert.deepEqual(Array.from(p.columns.variable as Float32Array), [11.5, 24]);
        assert.deepEqual(p.rejects.map((r) => [r.index, r.column, r.value, r.message]), [
          [1, "color", "purple", `column "color" has category "purple" the model has never seen`],
          [2, "zone", 99n, `column "zone" has category "99" the model has never seen`],
          [4, "color", "mauve", `column "color" has category "mauve" the model has never seen`],
        ]);
        assert.equal(p.unknownCategories, 3);
        assert.deepEqual(model.unknownCategoryCounts(), [{ column: "color", rows: 2 }, { column: "zone", rows: 2 }]);
      } finally {
        await model.close();
      }
    });
  }
  await t.step("a row rejected for a bad value is not counted again", async () => {
    const model = await loadModel(onehot, { strictCategories: true });
    try {
      const p = await model.predict({ color: ["purple"], zone: ["ten"], distance: [1] }, 1);
      assert.deepEqual(p.rejects.map((r) => r.column), ["zone"]);
      assert.equal(p.unknownCategories, 0);
    } finally {
      await model.close();
    }
  });
  await t.step("the manifest's strictCategories must be true or false", async () => {
    const err = await rejection(() => loadModel(onehot, { manifest: parseManifestOf({ strictCategories: "yes" }) }));
    assert.ok(err instanceof ModelError);
    assert.match(err.message, /"strictCategories" is not true or false/);
  });
});

function parseManifestOf(raw: unknown) {
  return parseManifest(raw, "model.json");
}
