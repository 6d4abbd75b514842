/**
 * The text of `--help`: the program's (its options and commands) and each
 * command's (usage, description, argument, options, and the program's
 * options it also takes). Each option's line ends with what it accepts, its
 * default and its variable: `(choices: "json", "text", default: 1, env:
 * SCORE_THREADS)`. Wrapped to the terminal's width, 80 columns otherwise.
 */
import type { Command } from "./command.ts";
import type { Option } from "./env_option.ts";

/** What the program's help lists: its texts, its options and its commands' one-line summaries. */
export interface ProgramHelp {
  name: string;
  description: string;
  options: Option[];
  commands: { name: string; summary: string }[];
}

/** The `-h, --help` line every help lists last among its options. */
const HELP: [string, string] = ["-h, --help", "display help for command"];

/**
 * The program's help.
 *
 * @example
 * ```ts
 * programHelp({ name: "score", description: "Run an ONNX model.", options: [], commands: [] });
 * ```
 */
export function programHelp(program: ProgramHelp, width = helpWidth()): string {
  const commands: [string, string][] = program.commands.map((c) => [`${c.name} [options]`, c.summary]);
  commands.push(["help [command]", "display help for command"]);
  const options: [string, string][] = [
    ["-V, --version", "output the version number"],
    ...program.options.map(row),
    HELP,
  ];
  const pad = padWidth([options, commands]);
  return [
    `Usage: ${program.name} [options] [command]`,
    wrap(program.description, width, 0),
    section("Options:", options, pad, width),
    section("Commands:", commands, pad, width),
  ].join("\n\n") + "\n";
}

/**
 * A command's help; `globals` (the program's options) are listed after its own.
 *
 * @example
 * ```ts
 * commandHelp("score", new Command("serve", { description: "Serve models." }), []);
 * ```
 */
export function commandHelp(program: string, cmd: Command, globals: Option[], width = helpWidth()): string {
  const argument = cmd.info.argument;
  const args: [string, string][] = argument ? [[argument.name, argument.help]] : [];
  const options = [...cmd.options.map(row), HELP];
  const global = globals.map(row);
  const pad = padWidth([args, options, global]);
  return [
    `Usage: ${program} ${cmd.name} [options]${argument ? ` [${argument.name}]` : ""}`,
    wrap(cmd.info.description, width, 0),
    ...(args.length > 0 ? [section("Arguments:", args, pad, width)] : []),
    section("Options:", options, pad, width),
    ...(global.length > 0 ? [section("Global Options:", global, pad, width)] : []),
  ].join("\n\n") + "\n";
}

/** An option's term and description, the description ending in its choices, default and variable. */
function row(option: Option): [string, string] {
  const extras: string[] = [];
  if (option.choices) extras.push(`choices: ${option.choices.map((c) => JSON.stringify(c)).join(", ")}`);
  if (option.default !== undefined && !option.negate) {
    const shown = option.defaultHelp ?? JSON.stringify(option.default);
    extras.push(`default: ${typeof shown === "function" ? shown() : shown}`);
  }
  if (option.env) extras.push(`env: ${option.env}`);
  return [option.flags, extras.length > 0 ? `${option.help} (${extras.join(", ")})` : option.help];
}

/** The terms' column: the longest term of any list, and two spaces. */
function padWidth(lists: [string, string][][]): number {
  return Math.max(0, ...lists.flat().map(([term]) => term.length)) + 2;
}

function section(title: string, rows: [string, string][], pad: number, width: number): string {
  return [title, ...rows.map(([term, text]) => `  ${term.padEnd(pad)}${wrap(text, width, 2 + pad).trimStart()}`)]
    .join("\n");
}

/** Wraps `text` to `width` columns, every line indented by `indent`; too narrow a column is left unwrapped. */
function wrap(text: string, width: number, indent: number): string {
  const room = width - indent;
  const margin = " ".repeat(indent);
  if (room < 40) return text.split("\n").map((l) => margin + l).join("\n");
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    for (const word of paragraph.split(/ +/)) {
      if (line !== "" && line.length + 1 + word.length > room) {
        lines.push(line);
        line = word;
      } else line = line === "" ? word : `${line} ${word}`;
    }
    lines.push(line);
  }
  return lines.map((l) => margin + l).join("\n");
}

/** The terminal's width, or 80 columns when stdout is not a terminal. */
function helpWidth(): number {
  return Deno.stdout.isTerminal() ? Deno.consoleSize().columns : 80;
}
