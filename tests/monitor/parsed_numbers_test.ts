/**
 * A model's number inputs folded as the model reads them: `24.0` and `24` are one category.
 */
import assert from "node:assert/strict";
import { CategoricalProfile, numberColumns, parsedNumbers } from "../../src/monitor/mod.ts";

Deno.test("parsedNumbers", async (t) => {
  await t.step("numeric text becomes the number; other values and other columns stay", () => {
    const columns = { id: ["24.0", 24, " 7 ", "x", "", null], name: ["24.0"], typed: new Float64Array([1.5]) };
    const out = parsedNumbers(columns, ["id", "typed"]);
    assert.deepEqual(out.id, [24, 24, 7, "x", "", null]);
    assert.equal(out.name, columns.name);
    assert.equal(out.typed, columns.typed);
    assert.deepEqual(columns.id, ["24.0", 24, " 7 ", "x", "", null], "the caller's columns are not changed");
  });
  await t.step("nothing to parse: the same object back", () => {
    const columns = { id: [1, 2] };
    assert.equal(parsedNumbers(columns, ["id"]), columns);
  });
  await t.step('as categories: "24.0" and 24 count as one', () => {
    const p = new CategoricalProfile();
    p.fold(parsedNumbers({ id: ["24.0", 24, "24"] }, ["id"]).id);
    assert.deepEqual([...p.counts()], [["24", 3]]);
  });
  await t.step("numberColumns: every input but text and bool, its columns", () => {
    const inputs = [
      { type: "int64", columns: ["PULocationID"] },
      { type: "string", columns: ["brand"] },
      { type: "float32", columns: ["x_0", "x_1"] },
      { type: "bool", columns: ["flag"] },
    ];
    assert.deepEqual(numberColumns(inputs), ["PULocationID", "x_0", "x_1"]);
  });
});
