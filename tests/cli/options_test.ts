import assert from "node:assert/strict";
import { Command } from "../../src/cli/command.ts";
import { envOption } from "../../src/cli/env_option.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import {
  byteSize,
  list,
  modelPath,
  modelTuningOptions,
  pairList,
  pairs,
  portNumber,
  resolveOptionsOf,
  wholeNumber,
} from "../../src/cli/options.ts";
import { MODELS } from "../helpers.ts";

Deno.test("option parsers", async (t) => {
  await t.step("--param keeps the order given and every repeat, whatever the names", () => {
    const cmd = new Command("t", { description: "" }).addOptions([
      envOption("--param <name=value>", "", { parse: pairList }),
    ]);
    const { flags } = cmd.parse([
      "--param",
      "zone=Manhattan",
      "--param",
      "2=late",
      "--param",
      "zone=Queens",
      "--param",
      "q=a=b",
    ]);
    assert.deepEqual(flags.param, [["zone", "Manhattan"], ["2", "late"], ["zone", "Queens"], ["q", "a=b"]]);
  });
  await t.step("--rename takes repeats and comma-separated pairs (so one variable can hold several)", () => {
    assert.deepEqual(pairs("duration=ride_duration,p=q", { a: "b" }), { a: "b", duration: "ride_duration", p: "q" });
  });
  const bad: [string, () => unknown][] = [
    ["a pair without =", () => pairList("oops")],
    ["a pair without a name", () => pairs("=x")],
    ["a negative count", () => wholeNumber(0)("-1")],
    ["a fraction", () => wholeNumber(1)("2.5")],
    ["a size of nothing", () => byteSize("0")],
    ["a size in an unknown unit", () => byteSize("2 parsecs")],
    ["a negative size", () => byteSize("-1GiB")],
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
  await t.step("an empty model is refused, not taken for the shipped models' folder", () => {
    for (const empty of ["", " "]) assert.throws(() => modelPath(empty), /an empty model/);
  });
  await t.step("a port is 0 to 65535", () => {
    assert.equal(portNumber("65535"), 65_535);
    assert.throws(() => portNumber("99999"), /from 0 to 65535/);
  });
});

Deno.test("the model store's bounds: --model-timeout and --model-max-bytes", async (t) => {
  await t.step("sizes: bytes, powers of 1000 with KB/MB/GB, of 1024 with K/KiB, M/MiB, G/GiB", () => {
    const cases: [string, number][] = [
      ["1048576", 1_048_576],
      ["500MB", 500_000_000],
      ["1G", 2 ** 30],
      ["2GiB", 2 ** 31],
      ["1.5 KiB", 1536],
    ];
    for (const [text, bytes] of cases) assert.equal(byteSize(text), bytes, text);
  });
  const parse = (args: string[]) => {
    const { flags } = new Command("t", { description: "" }).addOptions(modelTuningOptions()).parse(args);
    return resolveOptionsOf(flags);
  };
  const cases: { name: string; env: Record<string, string>; args: string[]; timeout: number; max: number }[] = [
    { name: "the defaults: 300 s, 2 GiB", env: {}, args: [], timeout: 300, max: 2 ** 31 },
    {
      name: "the variables over the defaults",
      env: { SCORE_MODEL_TIMEOUT: "60", SCORE_MODEL_MAX_BYTES: "100MB" },
      args: [],
      timeout: 60,
      max: 1e8,
    },
    {
      name: "the flags over the variables",
      env: { SCORE_MODEL_TIMEOUT: "60", SCORE_MODEL_MAX_BYTES: "100MB" },
      args: ["--model-timeout", "5", "--model-max-bytes", "1K"],
      timeout: 5,
      max: 1024,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      for (const [k, v] of Object.entries(c.env)) Deno.env.set(k, v);
      try {
        const store = parse(c.args);
        assert.equal(store.timeoutSeconds, c.timeout);
        assert.equal(store.maxBytes, c.max);
      } finally {
        for (const k of Object.keys(c.env)) Deno.env.delete(k);
      }
    });
  }
});
