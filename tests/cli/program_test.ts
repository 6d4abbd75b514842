import assert from "node:assert/strict";
import { join } from "node:path";
import { Command } from "../../src/cli/command.ts";
import { envOption } from "../../src/cli/env_option.ts";
import { type Program, runProgram } from "../../src/cli/program.ts";
import { DATA, ROOT, runScore } from "../helpers.ts";

/** Runs `argv` through a program of one command, the output kept. */
async function run(argv: string[]) {
  const out = { stdout: "", stderr: "" };
  const seen: Record<string, unknown>[] = [];
  const program: Program = {
    name: "t",
    version: "1.2.3",
    description: "A test program.",
    options: [envOption("--log-format <format>", "logs", { env: "T_LOG_FORMAT", choices: ["json", "text"] })],
    commands: {
      run: {
        summary: "Runs.",
        load: () =>
          Promise.resolve(
            new Command("run", { description: "Runs it." })
              .addOptions([envOption("--model <name>", "needed", { required: true })])
              .action((flags) => void seen.push(flags)),
          ),
      },
    },
  };
  const code = await runProgram(program, argv, {
    stdout: (text) => void (out.stdout += text),
    stderr: (text) => void (out.stderr += text),
  });
  return { code, ...out, seen };
}

Deno.test("runProgram: help, version, the command named, and usage errors with exit 64", async (t) => {
  const cases: [string, string[], number, RegExp, RegExp][] = [
    ["--help", ["--help"], 0, /^Usage: t \[options\] \[command\][^]*run \[options\] +Runs\./, /^$/],
    ["help", ["help"], 0, /^Usage: t \[options\] \[command\]/, /^$/],
    ["help run", ["help", "run"], 0, /^Usage: t run \[options\]\n\nRuns it\./, /^$/],
    ["run --help", ["run", "--help"], 0, /^Usage: t run \[options\][^]*Global Options:\n {2}--log-format/, /^$/],
    ["--version", ["--version"], 0, /^1\.2\.3\n$/, /^$/],
    ["nothing: the help, on stderr", [], 64, /^$/, /^Usage: t/],
    [
      "an unknown command",
      ["rn"],
      64,
      /^$/,
      /^error: unknown command 'rn'\n\(Did you mean run\?\)\n\(run with --help for usage\)\n$/,
    ],
    ["help of an unknown command", ["help", "rn"], 64, /^$/, /unknown command 'rn'/],
    [
      "an unknown option",
      ["run", "--modle", "m"],
      64,
      /^$/,
      /^error: unknown option '--modle'\n\(Did you mean --model\?\)/,
    ],
    ["a required option missing", ["run"], 64, /^$/, /required option '--model <name>' not specified/],
    [
      "a program option refused",
      ["--log-format", "xml", "run", "--model", "m"],
      64,
      /^$/,
      /Allowed choices are json, text/,
    ],
  ];
  for (const [name, argv, code, stdout, stderr] of cases) {
    await t.step(name, async () => {
      const r = await run(argv);
      assert.deepEqual([r.code, r.seen], [code, []]);
      assert.match(r.stdout, stdout);
      assert.match(r.stderr, stderr);
    });
  }
  await t.step("the program's option before or after the command's name", async () => {
    for (
      const argv of [["--log-format", "json", "run", "--model", "m"], ["run", "--model", "m", "--log-format", "json"]]
    ) {
      const r = await run(argv);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.seen, [{ model: "m", logFormat: "json" }]);
    }
  });
  await t.step("LOG_LEVEL must be a level", async () => {
    Deno.env.set("LOG_LEVEL", "verbose");
    try {
      await assert.rejects(run(["run", "--model", "m"]), /LOG_LEVEL="verbose" is not a level/);
    } finally {
      Deno.env.delete("LOG_LEVEL");
    }
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
