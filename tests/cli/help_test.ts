import assert from "node:assert/strict";
import { Command } from "../../src/cli/command.ts";
import { envOption } from "../../src/cli/env_option.ts";
import { commandHelp, programHelp } from "../../src/cli/help.ts";

const VARIABLE = "SCORE_HELP_TEST_N";

Deno.test("commandHelp: each option with its choices, default and variable", async (t) => {
  let asked = 0;
  const cmd = new Command("run", { description: "Runs it.", argument: { name: "thing", help: "the thing" } })
    .addOptions([
      envOption("--n <n>", "a count", { env: VARIABLE, default: 7 }),
      envOption("--dir <dir>", "a folder", { default: "/x/y", defaultHelp: "somewhere" }),
      envOption("--level <level>", "how much", { choices: ["low", "high"], default: "low" }),
      envOption("--later <x>", "a default costly to describe", {
        default: "auto",
        defaultHelp: () => `counted ${++asked}`,
      }),
      envOption("--json", "as JSON", { env: "T_JSON", default: false }),
      envOption("--no-progress", "quiet", { env: "T_NO_PROGRESS" }),
    ]);
  const global = [envOption("--log-format <format>", "logs", { env: "LOG_FORMAT" })];
  await t.step("a default described by a function is asked only when help is printed", () => {
    cmd.parse([], [], () => undefined);
    assert.equal(asked, 0);
  });
  const help = commandHelp("score", cmd, global, 200);
  await t.step("usage, description, argument", () => {
    assert.match(help, /^Usage: score run \[options\] \[thing\]\n\nRuns it\.\n\nArguments:\n {2}thing +the thing\n/);
  });
  const cases: [string, RegExp][] = [
    ["default and variable", new RegExp(`--n <n> +a count \\(default: 7, env: ${VARIABLE}\\)`)],
    ["a default's description", /--dir <dir> +a folder \(default: somewhere\)\n/],
    ["choices first", /--level <level> +how much \(choices: "low", "high", default: "low"\)/],
    ["a described default", /a default costly to describe \(default: counted 1\)/],
    ["a flag's default", /--json +as JSON \(default: false, env: T_JSON\)/],
    ["a --no-x flag shows no default", /--no-progress +quiet \(env: T_NO_PROGRESS\)\n/],
    [
      "help last among the options",
      / {2}-h, --help +display help for command\n\nGlobal Options:\n {2}--log-format <format> +logs \(env: LOG_FORMAT\)\n$/,
    ],
  ];
  for (const [name, line] of cases) await t.step(name, () => assert.match(help, line));
  await t.step("one column of terms; long texts wrapped under it", () => {
    const narrow = commandHelp("score", cmd, global, 70);
    const lines = narrow.split("\n");
    assert.ok(lines.every((l) => l.length <= 70), narrow);
    const column = lines.find((l) => l.startsWith("  --n <n>"))!.indexOf("a count");
    assert.ok(lines.filter((l) => /^ {2}--/.test(l)).every((l) => l[column - 1] === " " && l[column] !== " "), narrow);
    const wrapped = lines.filter((l) => /^ +[a-z(]/.test(l) && l.startsWith(" ".repeat(column)));
    assert.ok(wrapped.length > 0, "some description wraps, indented to the column");
  });
});

Deno.test("programHelp: options, then the commands and their summaries", () => {
  const help = programHelp({
    name: "score",
    description: "Run a model.",
    options: [envOption("--log-format <format>", "logs", { env: "LOG_FORMAT" })],
    commands: [{ name: "batch", summary: "Score rows." }, { name: "serve", summary: "Serve." }],
  }, 100);
  assert.match(help, /^Usage: score \[options\] \[command\]\n\nRun a model\.\n\nOptions:\n {2}-V, --version/);
  assert.match(
    help,
    /\n\nCommands:\n {2}batch \[options\] +Score rows\.\n {2}serve \[options\] +Serve\.\n {2}help \[command\] +display help/,
  );
});
