import assert from "node:assert/strict";
import { Command, type Parsed } from "../../src/cli/command.ts";
import { envOption } from "../../src/cli/env_option.ts";
import { list, wholeNumber } from "../../src/cli/options.ts";
import { UsageError } from "../../src/errors.ts";

/** A small command like score's: a required option with a variable, on/off flags with variables, a counted option. */
function tiny(): Command {
  return new Command("run", { description: "a test", argument: { name: "thing", help: "a thing" } }).addOptions([
    envOption("--model <name>", "needed", { env: "T_MODEL", required: true }),
    envOption("--n <n>", "a count", { env: "T_N", parse: wholeNumber(1), default: 7 }),
    envOption("--dry-run", "pretend", { env: "T_DRY_RUN" }),
    envOption("--no-progress", "quiet", { env: "T_NO_PROGRESS" }),
    envOption("--path <path>", "where", { default: "ride" }),
    envOption("--no-path", "nowhere"),
    envOption("--level <level>", "how much", { choices: ["low", "high"] }),
    envOption("--tags <tags>", "repeatable", { parse: list }),
  ]);
}

/** Parses `args` with the variables `env` (and no others). */
function parse(args: string[], env: Record<string, string> = {}): Parsed {
  return tiny().parse(args, [], (name) => env[name]);
}

Deno.test("Command.parse: flag > variable > default, each parsed", async (t) => {
  const cases: [string, string[], Record<string, string>, number, string][] = [
    ["the flag beats the variable", ["--n", "3"], { T_N: "5" }, 3, "cli"],
    ["--n=3 as --n 3", ["--n=3"], { T_N: "5" }, 3, "cli"],
    ["the variable beats the default, parsed", [], { T_N: "5" }, 5, "env"],
    ["the default, without either", [], {}, 7, "default"],
  ];
  for (const [name, args, env, value, source] of cases) {
    await t.step(name, () => {
      const parsed = parse(["--model", "m", ...args], env);
      assert.deepEqual([parsed.flags.n, parsed.source("n")], [value, source]);
    });
  }
  await t.step("the variable stands in for a required option", () => {
    assert.deepEqual([parse([], { T_MODEL: "m" }).flags.model, parse([], { T_MODEL: "m" }).source("model")], [
      "m",
      "env",
    ]);
  });
  await t.step("a repeated option's parser gets the value so far", () => {
    assert.deepEqual(parse(["--model", "m", "--tags", "a,b", "--tags", "c"]).flags.tags, ["a", "b", "c"]);
  });
  await t.step("--no-x turns off x, whose default is its positive option's", () => {
    assert.equal(parse(["--model", "m"]).flags.path, "ride");
    assert.equal(parse(["--model", "m", "--no-path"]).flags.path, false);
    assert.equal(parse(["--model", "m", "--path", "a"]).flags.path, "a");
    assert.equal(parse(["--model", "m"]).flags.progress, true, "a lone --no-x: x is on unless told");
    assert.equal(parse(["--model", "m"]).flags.dryRun, undefined, "a flag not given is unset");
  });
  await t.step("the positional argument, and --help", () => {
    assert.equal(parse(["thing1", "--model", "m"]).argument, "thing1");
    assert.equal(parse(["--help"]).help, true, "--help needs no required option");
    assert.equal(parse(["--modle", "x", "-h"]).help, true, "nor a right one");
  });
  for (
    const [value, on] of [
      ["1", true],
      ["true", true],
      ["YES", true],
      ["on", true],
      ["0", false],
      ["false", false],
      ["No", false],
      ["off", false],
    ] as const
  ) {
    await t.step(
      `T_DRY_RUN=${value} turns --dry-run ${on ? "on" : "off"}; T_NO_PROGRESS=${value} as --no-progress`,
      () => {
        const { flags } = parse(["--model", "m"], { T_DRY_RUN: value, T_NO_PROGRESS: value });
        assert.equal(flags.dryRun, on);
        assert.equal(flags.progress, !on);
      },
    );
  }
  await t.step("the flag beats its variable", () => {
    assert.equal(parse(["--model", "m", "--dry-run"], { T_DRY_RUN: "0" }).flags.dryRun, true);
  });
});

Deno.test("Command.parse: a command line refused says what and why", async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    [
      "a misspelt required option gets the suggestion, not 'not specified'",
      ["--modle", "x"],
      {},
      /^unknown option '--modle'\n\(Did you mean --model\?\)$/,
    ],
    ["an unknown option far from all", ["--model", "m", "--zzzzzz"], {}, /^unknown option '--zzzzzz'$/],
    ["an unknown short option", ["--model", "m", "-x"], {}, /^unknown option '-x'$/],
    [
      "a missing required option names its variable",
      [],
      {},
      /^required option '--model <name>' not specified \(nor T_MODEL\)$/,
    ],
    ["a value missing", ["--model"], {}, /^option '--model <name>' argument missing$/],
    [
      "a value the parser refuses",
      ["--model", "m", "--n", "0"],
      {},
      /^option '--n <n>' argument '0' is invalid\. "0" is not a whole number >= 1\.$/,
    ],
    [
      "a variable the parser refuses",
      ["--model", "m"],
      { T_N: "x" },
      /^option '--n <n>' value 'x' from env 'T_N' is invalid\. "x" is not a whole number/,
    ],
    [
      "a value not among the choices",
      ["--model", "m", "--level", "mid"],
      {},
      /^option '--level <level>' argument 'mid' is invalid\. Allowed choices are low, high\.$/,
    ],
    ["a value given to an on/off flag", ["--model", "m", "--dry-run=yes"], {}, /^option '--dry-run' takes no value$/],
    ["a second argument", ["--model", "m", "a", "b"], {}, /^too many arguments for 'run': expected 1, got 'b'/],
    [
      "an on/off variable set to anything else",
      ["--model", "m"],
      { T_DRY_RUN: "maybe" },
      /^T_DRY_RUN="maybe" is not on or off/,
    ],
  ];
  for (const [name, args, env, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => parse(args, env), (e: Error) => e instanceof UsageError && message.test(e.message));
    });
  }
});

Deno.test("Command.parse: the program's options, before or after the command's own", () => {
  const global = [envOption("--log-format <format>", "logs", { env: "LOG_FORMAT", choices: ["json", "text"] })];
  const parsed = tiny().parse(["--model", "m", "--log-format", "json"], global, () => undefined);
  assert.equal(parsed.flags.logFormat, "json");
  assert.throws(
    () => tiny().parse(["--model", "m", "--log-format", "xml"], global, () => undefined),
    /Allowed choices/,
  );
});

Deno.test("Command.run: the action gets the flags and where each came from", async () => {
  let seen: [unknown, unknown] | undefined;
  const cmd = tiny().action((flags, parsed) => void (seen = [flags.model, parsed.source("n")]));
  await cmd.run(cmd.parse(["--model", "m"], [], () => undefined));
  assert.deepEqual(seen, ["m", "default"]);
});
