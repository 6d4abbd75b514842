/**
 * Where `score` asks more of commander than it does by itself, in one
 * place (pinned by tests/cli/check_options_test.ts):
 *
 * - a required option is checked after unknown options, so `--modle x`
 *   gets "did you mean --model?" rather than "--model not specified", and
 *   the missing-option message names the option's variable;
 * - an on/off flag's variable is read strictly: `1/0, true/false, yes/no,
 *   on/off` (any case), anything else is a usage error (commander turns the
 *   flag on whenever the variable is set, even to `false`);
 * - `LOG_LEVEL` is one of the levels, or a usage error;
 * - logs are text when stderr is a terminal and JSON lines otherwise, unless
 *   `--log-format` (or `LOG_FORMAT`) says which.
 *
 * @example
 * ```ts
 * const root = new Command("score").addCommand(batchCommand());
 * checkOptions(root);
 * await root.parseAsync(Deno.args, { from: "user" });
 * ```
 */
import type { Command, Option } from "commander";
import { UsageError } from "../errors.ts";
import { log, LOG_LEVELS } from "../log.ts";

const ON = ["1", "true", "yes", "on"];
const OFF = ["0", "false", "no", "off"];

/**
 * Reads an on/off variable's value.
 *
 * @example
 * ```ts
 * onOff("SCORE_DRY_RUN", "no"); // false
 * ```
 */
export function onOff(variable: string, value: string): boolean {
  const v = value.trim().toLowerCase();
  if (ON.includes(v)) return true;
  if (OFF.includes(v)) return false;
  throw new UsageError(
    `${variable}=${JSON.stringify(value)} is not on or off: use one of ${[...ON, ...OFF].join(", ")}`,
  );
}

/** Installs the checks on every subcommand of `root`. */
export function checkOptions(root: Command): void {
  const required = new Map<Command, Option[]>();
  for (const cmd of root.commands) {
    const options = cmd.options.filter((o) => o.mandatory);
    // commander would check these before unknown options; the hook below checks them after.
    for (const o of options) o.mandatory = false;
    required.set(cmd, options);
  }
  root.hook("preAction", (_root, action) => {
    // Text for a person at a terminal, JSON lines for whatever collects them, unless told.
    log.setFormat(root.opts().logFormat ?? (Deno.stderr.isTerminal() ? "text" : "json"));
    const level = Deno.env.get("LOG_LEVEL");
    if (level !== undefined) {
      const l = level.trim().toLowerCase();
      if (!(LOG_LEVELS as readonly string[]).includes(l)) {
        throw new UsageError(`LOG_LEVEL=${JSON.stringify(level)} is not a level: use one of ${LOG_LEVELS.join(", ")}`);
      }
      log.setLevel(l as (typeof LOG_LEVELS)[number]);
    }
    for (const o of action.options) {
      const isFlag = !o.required && !o.optional;
      if (!isFlag || !o.envVar || action.getOptionValueSource(o.attributeName()) !== "env") continue;
      const given = onOff(o.envVar, Deno.env.get(o.envVar)!);
      // A --no-x flag's variable, like the flag, turns x off.
      action.setOptionValueWithSource(o.attributeName(), o.negate ? !given : given, "env");
    }
    for (const o of required.get(action) ?? []) {
      if (action.getOptionValue(o.attributeName()) === undefined) {
        action.error(`error: required option '${o.flags}' not specified${o.envVar ? ` (nor ${o.envVar})` : ""}`, {
          exitCode: 64,
          code: "commander.missingMandatoryOptionValue",
        });
      }
    }
  });
}
