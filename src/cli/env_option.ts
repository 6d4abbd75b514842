/**
 * One command-line option, declared once: its flag, help text, environment
 * variable, parser and default. The precedence (a flag beats its variable,
 * which beats the default) is commander's `Option.env`, set here for every
 * option, so `--help` shows each option's variable and default the same way.
 */
import { type Command, Option } from "commander";

/** What an option takes besides its flag and help text; all optional. */
export interface EnvOptionSpec {
  /** The variable read when the flag is not given (`SCORE_PORT`). */
  env?: string;
  /** Turns the text given into the value (and may refuse it with an `InvalidArgumentError`). */
  parse?: (value: string, previous: never) => unknown;
  /** The value when neither the flag nor the variable is given. */
  default?: unknown;
  /**
   * How `--help` shows the default, when the value itself would not say it well; a function is called only when
   * `--help` prints it (for a description that costs a file read).
   */
  defaultHelp?: string | (() => string);
  /** The only values allowed. */
  choices?: readonly string[];
  /** Refused when neither the flag nor the variable is given. */
  required?: boolean;
}

/**
 * An option from its flag, help text and {@linkcode EnvOptionSpec}.
 *
 * @example
 * ```ts
 * envOption("--port <port>", "port to listen on", { env: "SCORE_PORT", parse: portNumber, default: 9696 });
 * ```
 */
export function envOption(flags: string, help: string, spec: EnvOptionSpec = {}): Option {
  const option = new Option(flags, help);
  if (spec.env !== undefined) option.env(spec.env);
  if (spec.choices !== undefined) option.choices(spec.choices);
  // Each parser's value type is its own; commander keeps it untyped anyway.
  if (spec.parse !== undefined) option.argParser(spec.parse as (value: string, previous: unknown) => unknown);
  if (spec.default !== undefined) {
    const help = spec.defaultHelp;
    option.default(spec.default, typeof help === "string" ? help : undefined);
    // commander reads the description only to print --help.
    if (typeof help === "function") Object.defineProperty(option, "defaultValueDescription", { get: help });
  }
  if (spec.required) option.makeOptionMandatory();
  return option;
}

/**
 * Adds `options` to `cmd`, in order (the order `--help` lists them in).
 *
 * @example
 * ```ts
 * addOptions(new Command("serve"), [modelOption(), envOption("--host <host>", "address", { env: "SCORE_HOST" })]);
 * ```
 */
export function addOptions(cmd: Command, options: Option[]): Command {
  for (const o of options) cmd.addOption(o);
  return cmd;
}
