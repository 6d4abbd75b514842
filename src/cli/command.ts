/**
 * A command of `score`: its name, help texts, options and action, and how a
 * command line becomes its flags.
 *
 * The values get their meaning here, in the one precedence of score: a
 * flag beats its environment variable, which beats the default. No npm
 * package and no `node:` module: either starts Deno's Node compatibility,
 * which costs `--help` more than all else it does (bench/NOTES.md); and a
 * command line of long options splits in a few lines (`tokens`).
 */
import { InvalidArgumentError, UsageError } from "../errors.ts";
import { onOff, type Option } from "./env_option.ts";
import { didYouMean } from "./did_you_mean.ts";

/** Where a value came from. */
export type ValueSource = "cli" | "env" | "default";

/** A command line read: the flags by key, and where each came from. */
export interface Parsed<F = Record<string, unknown>> {
  readonly flags: F;
  /** The positional argument, for a command that takes one. */
  readonly argument?: string;
  /** `--help` was asked for: the flags are not read. */
  readonly help: boolean;
  /** Where the value of `key` came from (undefined: nowhere, it has none). */
  source(key: string): ValueSource | undefined;
  /** The option of `key`. */
  option(key: string): Option | undefined;
}

/** A command's texts for `--help`. */
export interface CommandInfo {
  description: string;
  /** An optional positional argument: `{ name: "model", help: "..." }`. */
  argument?: { name: string; help: string };
}

/** Reads a variable (a parameter for tests). */
export type EnvReader = (name: string) => string | undefined;

/**
 * A command: options in the order `--help` lists them, and its action.
 *
 * @example
 * ```ts
 * const cmd = new Command("serve", { description: "Serve models over HTTP." })
 *   .addOptions([envOption("--port <port>", "port", { env: "SCORE_PORT", parse: portNumber, default: 9696 })])
 *   .action((flags) => serve(flags));
 * await cmd.run(cmd.parse(["--port", "8080"]));
 * ```
 */
export class Command<F = any> {
  readonly options: Option[] = [];
  #action?: (flags: F, parsed: Parsed<F>) => unknown;

  constructor(readonly name: string, readonly info: CommandInfo) {}

  /** Adds options, in order. */
  addOptions(options: Option[]): this {
    this.options.push(...options);
    return this;
  }

  /** Sets what the command does with its flags. */
  action(fn: (flags: F, parsed: Parsed<F>) => unknown): this {
    this.#action = fn;
    return this;
  }

  /** Runs the action on parsed flags. */
  async run(parsed: Parsed<F>): Promise<void> {
    if (this.#action === undefined) throw new TypeError(`Command ${this.name} has no action`);
    await this.#action(parsed.flags, parsed);
  }

  /**
   * Reads `argv` (the arguments after the command's name) with `globals` (the program's options, taken before or
   * after the name). Refuses, with a {@linkcode UsageError} that says which, an unknown option (with the nearest
   * known one), a value missing or refused, a variable refused, an argument too many, a required option missing.
   */
  parse(argv: string[], globals: Option[] = [], env: EnvReader = (name) => Deno.env.get(name)): Parsed<F> {
    const options = [...this.options, ...globals];
    const byFlag = new Map(options.map((o) => [o.long.slice(2), o]));
    const tokens = split(argv, (name) => byFlag.get(name)?.value !== undefined);
    const values: Record<string, unknown> = {};
    const sources = new Map<string, ValueSource>();
    const keys = new Map(options.map((o) => [o.key, o]));
    const parsed: Parsed<F> = {
      flags: values as F,
      help: false,
      source: (key) => sources.get(key),
      option: (key) => keys.get(key),
    };
    if (tokens.some((t) => t.kind === "option" && t.name === "help")) return { ...parsed, help: true };
    // An unknown option first: `--modle x` is a misspelt --model, whatever else is missing.
    for (const t of tokens) {
      if (t.kind !== "option" || byFlag.has(t.name)) continue;
      throw new UsageError(
        `unknown option '${t.rawName}'` + didYouMean(t.rawName, options.map((o) => o.long).concat("--help")),
      );
    }
    const given: { option: Option; text: string | undefined }[] = [];
    let argument: string | undefined;
    for (const t of tokens) {
      if (t.kind === "option") {
        const option = byFlag.get(t.name)!;
        if (!option.value && t.inlineValue) throw new UsageError(`option '${option.long}' takes no value`);
        if (option.value && t.value === undefined) throw new UsageError(`option '${option.flags}' argument missing`);
        given.push({ option, text: t.value });
      } else if (t.kind === "positional") {
        if (this.info.argument === undefined || argument !== undefined) {
          const expected = this.info.argument === undefined ? 0 : 1;
          throw new UsageError(
            `too many arguments for '${this.name}': expected ${expected}, got '${t.value}'` +
              (t.value.startsWith("-") ? "" : " (an option's value? each option takes at most one)"),
          );
        }
        argument = t.value;
      }
    }
    for (const o of options) {
      if (o.negate && !options.some((p) => p.key === o.key && !p.negate)) values[o.key] = true;
      else if (o.default !== undefined && !o.negate) values[o.key] = o.default;
      if (values[o.key] !== undefined) sources.set(o.key, "default");
    }
    for (const { option, text } of given) {
      values[option.key] = text === undefined ? !option.negate : valueOf(option, text, values[option.key]);
      sources.set(option.key, "cli");
    }
    for (const o of options) {
      if (o.env === undefined || sources.get(o.key) === "cli") continue;
      const text = env(o.env);
      if (text === undefined) continue;
      values[o.key] = o.value ? valueOf(o, text, values[o.key], o.env) : onOff(o.env, text) !== o.negate;
      sources.set(o.key, "env");
    }
    for (const o of options) {
      if (o.required && values[o.key] === undefined) {
        throw new UsageError(`required option '${o.flags}' not specified${o.env ? ` (nor ${o.env})` : ""}`);
      }
    }
    return { ...parsed, argument };
  }
}

/** A command line's parts: options (with their values) and positional arguments. */
type Token =
  | { kind: "option"; name: string; rawName: string; value?: string; inlineValue: boolean }
  | { kind: "positional"; value: string };

/**
 * Splits a command line: `--name value` (when `takesValue(name)`), `--name=value`, `--name`, `-h` (and `-x`, refused
 * later), `--` (what follows is positional), and positional arguments. An option's value may start with a dash
 * (`--at -1d` is not two options), as in commander and `node:util`'s `parseArgs`.
 */
function split(argv: string[], takesValue: (name: string) => boolean): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      for (const rest of argv.slice(i + 1)) tokens.push({ kind: "positional", value: rest });
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (eq !== -1) {
        tokens.push({ kind: "option", name, rawName: `--${name}`, value: arg.slice(eq + 1), inlineValue: true });
      } else {
        const value = takesValue(name) && i + 1 < argv.length ? argv[++i] : undefined;
        tokens.push({ kind: "option", name, rawName: arg, value, inlineValue: false });
      }
    } else if (arg.startsWith("-") && arg.length > 1) {
      // Short options: -h alone is score's; any other is refused as unknown.
      const name = arg === "-h" ? "help" : arg;
      tokens.push({ kind: "option", name, rawName: arg, inlineValue: false });
    } else tokens.push({ kind: "positional", value: arg });
  }
  return tokens;
}

/** An option's value from its text: one of its choices, and what its parser makes of it. */
function valueOf(option: Option, text: string, previous: unknown, variable?: string): unknown {
  const where = variable === undefined ? `argument '${text}'` : `value '${text}' from env '${variable}'`;
  if (option.choices !== undefined && !option.choices.includes(text)) {
    throw new UsageError(
      `option '${option.flags}' ${where} is invalid. Allowed choices are ${option.choices.join(", ")}.`,
    );
  }
  if (option.parse === undefined) return text;
  try {
    return option.parse(text, previous as never);
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    throw new UsageError(`option '${option.flags}' ${where} is invalid. ${err.message}`, { cause: err });
  }
}
