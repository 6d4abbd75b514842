import assert from "node:assert/strict";
import { Command, InvalidArgumentError } from "commander";
import { list, modelPath, pairList, pairs, portNumber, wholeNumber } from "../../src/cli/options.ts";
import { MODELS } from "../helpers.ts";

Deno.test("option parsers", async (t) => {
  await t.step("--param keeps the order given and every repeat, whatever the names", () => {
    const cmd = new Command().exitOverride().option("--param <name=value>", "", pairList);
    cmd.parse(["--param", "zone=Manhattan", "--param", "2=late", "--param", "zone=Queens", "--param", "q=a=b"], {
      from: "user",
    });
    assert.deepEqual(cmd.opts().param, [["zone", "Manhattan"], ["2", "late"], ["zone", "Queens"], ["q", "a=b"]]);
  });
  await t.step("--rename takes repeats and comma-separated pairs (so one variable can hold several)", () => {
    assert.deepEqual(pairs("duration=ride_duration,p=q", { a: "b" }), { a: "b", duration: "ride_duration", p: "q" });
  });
  const bad: [string, () => unknown][] = [
    ["a pair without =", () => pairList("oops")],
    ["a pair without a name", () => pairs("=x")],
    ["a negative count", () => wholeNumber(0)("-1")],
    ["a fraction", () => wholeNumber(1)("2.5")],
  ];
  for (const [name, fn] of bad) {
    await t.step(`refused: ${name}`, () => assert.throws(fn, InvalidArgumentError));
  }
  await t.step("lists drop blanks", () => assert.deepEqual(list("a, b,,c"), ["a", "b", "c"]));
  await t.step("a bare model name finds the shipped model; a path stays as given", () => {
    assert.equal(modelPath("churn"), `${MODELS}/churn`);
    assert.equal(modelPath("./nope"), "./nope");
    assert.equal(modelPath("nope.onnx"), "nope.onnx");
  });
  await t.step("an unknown bare name is refused with the shipped models listed", () => {
    assert.throws(
      () => modelPath("no-such-model"),
      (e: Error) =>
        e instanceof InvalidArgumentError &&
        /shipped models: churn, ride-duration-linreg, ride-duration-rf\)/.test(e.message),
    );
  });
  await t.step("a port is 0 to 65535", () => {
    assert.equal(portNumber("65535"), 65_535);
    assert.throws(() => portNumber("99999"), /from 0 to 65535/);
  });
});
