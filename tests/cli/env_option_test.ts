import assert from "node:assert/strict";
import { envOption, onOff } from "../../src/cli/env_option.ts";
import { UsageError } from "../../src/errors.ts";

Deno.test("envOption: the flag's parts", async (t) => {
  const cases: [string, { long: string; key: string; value?: string; negate: boolean }][] = [
    ["--model <uri>", { long: "--model", key: "model", value: "<uri>", negate: false }],
    ["--max-batch-delay-ms <ms>", {
      long: "--max-batch-delay-ms",
      key: "maxBatchDelayMs",
      value: "<ms>",
      negate: false,
    }],
    ["--dry-run", { long: "--dry-run", key: "dryRun", value: undefined, negate: false }],
    ["--no-progress", { long: "--no-progress", key: "progress", value: undefined, negate: true }],
    ["--no-features-path", { long: "--no-features-path", key: "featuresPath", value: undefined, negate: true }],
  ];
  for (const [flags, parts] of cases) {
    await t.step(flags, () => {
      const o = envOption(flags, "help");
      assert.deepEqual({ long: o.long, key: o.key, value: o.value, negate: o.negate }, parts);
    });
  }
  await t.step("a flag of another shape is a programming error", () => {
    assert.throws(() => envOption("-m, --model <uri>", ""), TypeError);
  });
});

Deno.test("onOff: strict on/off values", () => {
  for (const v of ["1", "true", "YES", " on "]) assert.equal(onOff("X", v), true, v);
  for (const v of ["0", "false", "No", "off"]) assert.equal(onOff("X", v), false, v);
  for (const v of ["", "maybe", "2"]) assert.throws(() => onOff("X", v), UsageError);
});
