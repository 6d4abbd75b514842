import assert from "node:assert/strict";
import { describeError, ScoreError } from "../../src/errors.ts";
import { ModelError } from "../../src/model/mod.ts";

Deno.test("ModelError: one of the errors module's, each way a model fails with its code, status and exit", async (t) => {
  const cases: [string, ModelError, string, number, number][] = [
    ["not found", ModelError.notFound("gone"), "model_not_found", 404, 66],
    ["bad model", ModelError.badModel("bad"), "bad_model", 500, 78],
    ["missing inputs", ModelError.missingInputs("lacks x"), "missing_inputs", 422, 65],
    ["unknown output", ModelError.unknownOutput("no y"), "missing_inputs", 422, 65],
    ["run failed", ModelError.runFailed("ort"), "model_failed", 500, 70],
  ];
  for (const [name, err, code, status, exitCode] of cases) {
    await t.step(name, () => {
      assert.ok(err instanceof ScoreError);
      assert.equal(err.name, "ModelError");
      assert.deepEqual(describeError(err), { code, status, exitCode, message: err.message });
    });
  }
  await t.step("its cause is kept", () => {
    const cause = new Error("inner");
    assert.equal(ModelError.runFailed("ort", { cause }).cause, cause);
  });
});
