/**
 * An Open Inference Protocol request's data, flat or nested: nested data must nest exactly as its shape says, or
 * values would be read into the wrong rows.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { decodeInferRequest } from "../../src/http/oip_json.ts";
import { loadModel } from "../../src/model/mod.ts";
import { FIXTURES } from "../helpers.ts";

Deno.test("decodeInferRequest: nested data nests as its shape, or is refused naming where", async (t) => {
  // float_input is [N, 4].
  const model = await loadModel(join(FIXTURES, "models", "byom", "nk_regressor"));
  const request = (data: unknown[]) => ({ inputs: [{ name: "float_input", datatype: "FP32", shape: [2, 4], data }] });
  const rows = [1, 2, 3, 4, 5, 6, 7, 8];
  try {
    const accepted: [string, unknown[]][] = [
      ["flat, row-major", rows],
      ["nested as the shape", [[1, 2, 3, 4], [5, 6, 7, 8]]],
    ];
    for (const [name, data] of accepted) {
      await t.step(name, () => {
        assert.deepEqual(Array.from(decodeInferRequest(request(data), model).inputs[0].data as Float32Array), rows);
      });
    }
    const refused: [string, unknown[], RegExp][] = [
      [
        "ragged rows whose count fits",
        [[1, 2, 3], [4, 5, 6, 7, 8]],
        /data\[0\] is a list of 3, where its shape \[2, 4\] needs a list of 4/,
      ],
      [
        "one row as a list, the rest flat",
        [1, 2, 3, 4, [5, 6, 7, 8]],
        /data is a list of 5, where its shape \[2, 4\] needs a list of 2/,
      ],
      [
        "a value where a row belongs",
        [[1, 2, 3, 4], 5],
        /data\[1\] is a single value, where its shape \[2, 4\] needs a list of 4/,
      ],
      ["one list of every value", [rows], /data is a list of 1, where its shape \[2, 4\] needs a list of 2/],
    ];
    for (const [name, data, message] of refused) {
      await t.step(name, () => assert.throws(() => decodeInferRequest(request(data), model), message));
    }
    await t.step("deeper than the shape: refused as a value", () => {
      assert.throws(
        () => decodeInferRequest(request([[1, 2, 3, [4]], [5, 6, 7, 8]]), model),
        /element 3 is a list \(nested deeper than the shape\)/,
      );
    });
  } finally {
    await model.close();
  }
});
