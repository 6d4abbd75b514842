import assert from "node:assert/strict";
import { Command } from "commander";
import { addOptions, envOption } from "../../src/cli/env_option.ts";
import { wholeNumber } from "../../src/cli/options.ts";

const VARIABLE = "SCORE_ENV_OPTION_TEST_N";

/** Parses `args` with one `--n` option, the variable set to `env` (or unset). */
function parse(args: string[], env: string | undefined): { value: unknown; source: string | undefined } {
  if (env === undefined) Deno.env.delete(VARIABLE);
  else Deno.env.set(VARIABLE, env);
  try {
    const cmd = addOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }), [
      envOption("--n <n>", "a count", { env: VARIABLE, parse: wholeNumber(1), default: 7 }),
    ]);
    cmd.parse(args, { from: "user" });
    return { value: cmd.opts().n, source: cmd.getOptionValueSource("n") };
  } finally {
    Deno.env.delete(VARIABLE);
  }
}

Deno.test("envOption: flag > variable > default, each parsed", async (t) => {
  const cases: [string, string[], string | undefined, number, string][] = [
    ["the flag beats the variable", ["--n", "3"], "5", 3, "cli"],
    ["the variable beats the default, parsed", [], "5", 5, "env"],
    ["the default, without either", [], undefined, 7, "default"],
  ];
  for (const [name, args, env, value, source] of cases) {
    await t.step(name, () => assert.deepEqual(parse(args, env), { value, source }));
  }
  await t.step("a variable the parser refuses is refused", () => {
    assert.throws(() => parse([], "0"), /not a whole number >= 1/);
  });
  await t.step("--help shows the default and the variable", () => {
    const help = addOptions(new Command(), [
      envOption("--n <n>", "a count", { env: VARIABLE, default: 7 }),
      envOption("--dir <dir>", "a folder", { default: "/x/y", defaultHelp: "somewhere" }),
    ]).helpInformation();
    assert.match(help, new RegExp(`a count \\(default: 7, env: ${VARIABLE}\\)`));
    assert.match(help, /a folder \(default: somewhere\)/);
  });
  await t.step("a default described by a function: asked only when --help prints it", () => {
    let asked = 0;
    const describe = () => `counted ${++asked}`;
    const cmd = addOptions(new Command().exitOverride(), [
      envOption("--n <n>", "a count", { env: VARIABLE, default: "auto", defaultHelp: describe }),
    ]);
    Deno.env.delete(VARIABLE);
    cmd.parse([], { from: "user" });
    assert.equal(cmd.opts().n, "auto");
    assert.equal(asked, 0, "parsing does not ask");
    assert.match(cmd.helpInformation(), /a count \(default: counted 1, env:/);
  });
  await t.step("a required option without the flag or variable is refused", () => {
    const cmd = addOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }), [
      envOption("--m <m>", "needed", { env: VARIABLE, required: true }),
    ]);
    Deno.env.delete(VARIABLE);
    assert.throws(() => cmd.parse([], { from: "user" }), /required option '--m <m>' not specified/);
  });
});
