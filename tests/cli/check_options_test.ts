import assert from "node:assert/strict";
import { join } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { checkOptions, onOff } from "../../src/cli/check_options.ts";
import { UsageError } from "../../src/errors.ts";
import { DATA, ROOT, runScore } from "../helpers.ts";

/** A small program like score's: one command, a required option with a variable, on/off flags with variables. */
function tiny(seen: Record<string, unknown>[]) {
  const root = new Command("t").exitOverride();
  const cmd = new Command("run")
    .addOption(new Option("--model <name>").env("T_MODEL").makeOptionMandatory())
    .addOption(new Option("--dry-run").env("T_DRY_RUN"))
    .addOption(new Option("--no-progress").env("T_NO_PROGRESS"))
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .action((flags) => void seen.push(flags));
  root.addCommand(cmd);
  checkOptions(root);
  return root;
}

async function parse(args: string[], env: Record<string, string> = {}) {
  const seen: Record<string, unknown>[] = [];
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  try {
    await tiny(seen).parseAsync(["run", ...args], { from: "user" });
    return seen[0];
  } finally {
    for (const k of Object.keys(env)) Deno.env.delete(k);
  }
}

Deno.test("checkOptions: commander's checks in the order and strictness score needs", async (t) => {
  await t.step("a misspelt required option gets the suggestion, not 'not specified'", async () => {
    await assert.rejects(
      parse(["--modle", "x"]),
      (e: CommanderError) => e.code === "commander.unknownOption" && /Did you mean --model\?/.test(e.message),
    );
  });
  await t.step("a missing required option names its variable", async () => {
    await assert.rejects(
      parse([]),
      (e: CommanderError) => e.exitCode === 64 && /'--model <name>' not specified \(nor T_MODEL\)/.test(e.message),
    );
  });
  await t.step("the variable stands in for a required option", async () => {
    assert.equal((await parse([], { T_MODEL: "m" })).model, "m");
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
      async () => {
        const flags = await parse(["--model", "m"], { T_DRY_RUN: value, T_NO_PROGRESS: value });
        assert.equal(flags.dryRun ?? false, on);
        assert.equal(flags.progress, !on);
      },
    );
  }
  await t.step("an on/off variable set to anything else is a usage error naming it", async () => {
    await assert.rejects(
      parse(["--model", "m"], { T_DRY_RUN: "maybe" }),
      (e: Error) => e instanceof UsageError && /T_DRY_RUN="maybe" is not on or off/.test(e.message),
    );
    assert.throws(() => onOff("X", ""), UsageError);
  });
  await t.step("the flag beats its variable", async () => {
    assert.equal((await parse(["--model", "m", "--dry-run"], { T_DRY_RUN: "0" })).dryRun, true);
  });
  await t.step("LOG_LEVEL must be a level", async () => {
    await assert.rejects(parse(["--model", "m"], { LOG_LEVEL: "verbose" }), /LOG_LEVEL="verbose" is not a level/);
    assert.ok(await parse(["--model", "m"], { LOG_LEVEL: "WARN" }));
  });
});

Deno.test("score's first-hour mistakes are usage errors that say what to do (exit 64)", async (t) => {
  const csv = join(DATA, "telco_customer_churn.csv");
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["--modle", ["batch", "--modle", "churn", "--input", csv, "--output", "-"], {}, /Did you mean --model\?/],
    [
      "an unknown model name",
      ["batch", "--model", "nope", "--input", csv, "--output", "-"],
      {},
      /"nope" is neither a path nor a shipped model \(the shipped models: churn, ride-duration-linreg, ride-duration-rf\)/,
    ],
    [
      "serve --port 99999",
      ["serve", "--model", "churn", "--port", "99999"],
      {},
      /"99999" is not a whole number from 0 to 65535/,
    ],
    ["serve without --model", ["serve"], {}, /required option '--model <uri>' not specified \(nor SCORE_MODEL\)/],
    [
      "LOG_LEVEL=verbose",
      ["batch", "--model", "churn", "--input", csv, "--output", "-"],
      { LOG_LEVEL: "verbose" },
      /LOG_LEVEL/,
    ],
    [
      "SCORE_NO_PROGRESS=sometimes",
      ["batch", "--model", "churn", "--input", csv, "--output", "-"],
      { SCORE_NO_PROGRESS: "sometimes" },
      /SCORE_NO_PROGRESS=\\?"sometimes\\?" is not on or off/,
    ],
  ];
  for (const [name, args, env, message] of cases) {
    await t.step(name, async () => {
      const r = await runScore(args, { env });
      assert.equal(r.code, 64, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    });
  }
  await t.step("SCORE_DRY_RUN=false is not a dry run: --prediction-exchange is required", async () => {
    // Bounded: a dry run would wait for events until stopped.
    const r = await new Deno.Command(join(ROOT, "score"), {
      args: ["consume", "--model", "churn", "--exchange", "x", "--amqp-url", "amqp://127.0.0.1:1"],
      env: { SCORE_DRY_RUN: "false" },
      stdout: "null",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    assert.equal(r.code, 64);
    assert.match(new TextDecoder().decode(r.stderr), /--prediction-exchange .* is required unless --dry-run/);
  });
  await t.step("--backfill, --no-progress and --no-access-log have variables", async () => {
    for (
      const [command, variable] of [["batch", "SCORE_BACKFILL"], ["batch", "SCORE_NO_PROGRESS"], [
        "publish",
        "SCORE_NO_PROGRESS",
      ], ["serve", "SCORE_NO_ACCESS_LOG"]]
    ) {
      const help = (await runScore([command, "--help"])).stdout.replace(/\s+/g, " ");
      assert.match(help, new RegExp(`env: ${variable}`));
    }
  });
});
