import assert from "node:assert/strict";
import { didYouMean } from "../../src/cli/did_you_mean.ts";

Deno.test("didYouMean: the nearest known words", async (t) => {
  const options = ["--model", "--input", "--output", "--output-table", "--max-errors", "--help"];
  const cases: [string, readonly string[], string][] = [
    ["--modle", options, "\n(Did you mean --model?)"],
    ["--ouput", options, "\n(Did you mean --output?)"],
    ["--max-error", options, "\n(Did you mean --max-errors?)"],
    ["--x", options, ""],
    ["--completely-different", options, ""],
    ["serv", ["serve", "batch", "consume"], "\n(Did you mean serve?)"],
    ["bacth", ["batch", "bath"], "\n(Did you mean one of batch, bath?)"],
    ["-p", ["--model", "--port", "--host"], "\n(Did you mean --port?)"],
    ["-M", options, "\n(Did you mean one of --model, --max-errors?)"],
    ["-z", options, ""],
  ];
  for (const [word, known, said] of cases) {
    await t.step(word, () => assert.equal(didYouMean(word, known), said));
  }
});
