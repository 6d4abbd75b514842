/**
 * One command-line option, declared once: its flag, help text, environment
 * variable, parser and default. The precedence (a flag beats its variable,
 * which beats the default) is applied in one place, `Command.parse`
 * (command.ts), for every option, and `--help` shows each option's variable
 * and default the same way.
 */
import { UsageError } from "../errors.ts";

/** What an option takes besides its flag and help text; all optional. */
export interface EnvOptionSpec {
  /** The variable read when the flag is not given (`SCORE_PORT`). */
  env?: string;
  /**
   * Turns the text given into the value (and may refuse it with an `InvalidArgumentError`); `previous` is the value
   * so far (the default, or an earlier repeat of the flag), for a repeatable option.
   */
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

/** An option: its flag parsed (`--max-errors <n>`: long `--max-errors`, key `maxErrors`, takes a value). */
export interface Option extends EnvOptionSpec {
  /** As declared: `--model <uri>`, `--dry-run`, `--no-progress`. */
  readonly flags: string;
  readonly help: string;
  /** The flag itself: `--model`. */
  readonly long: string;
  /** The key of its value in the parsed flags: `maxErrors`; `progress` for `--no-progress`. */
  readonly key: string;
  /** The placeholder of its value (`<uri>`); none for an on/off flag. */
  readonly value?: string;
  /** A `--no-x` flag: turns `x` off. */
  readonly negate: boolean;
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
  const m = /^(--([a-z][a-z0-9-]*))(?: (<[^>]+>))?$/.exec(flags);
  if (m === null) throw new TypeError(`Cannot declare option "${flags}": expected --name or --name <value>`);
  const [, long, name, value] = m;
  const negate = value === undefined && name.startsWith("no-");
  const key = (negate ? name.slice(3) : name).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return { ...spec, flags, help, long, key, value, negate };
}

const ON = ["1", "true", "yes", "on"];
const OFF = ["0", "false", "no", "off"];

/**
 * Reads an on/off variable's value strictly: `1/0, true/false, yes/no, on/off` (any case), anything else is a usage
 * error (a variable set to `false` must not turn a flag on).
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
