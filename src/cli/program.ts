/**
 * The program: `score [--log-format f] <command> [options]`, `--help`,
 * `--version` and `help [command]`. A command's module loads only when the
 * command is named: `score --help` lists the commands from their summaries
 * alone, and `score batch --help` loads the batch command's flag table, not
 * its job.
 */
import { UsageError } from "../errors.ts";
import { log, LOG_LEVELS } from "../log.ts";
import { writeAll } from "../sinks/write_all.ts";
import type { Command } from "./command.ts";
import { didYouMean } from "./did_you_mean.ts";
import type { Option } from "./env_option.ts";
import { commandHelp, programHelp } from "./help.ts";

/** A command as the program knows it before loading it. */
export interface CommandEntry {
  /** One line for `score --help`. */
  summary: string;
  /** Builds the command (loading its module). */
  load: () => Promise<Command>;
}

/** The program's name, texts, options (taken before or after a command's name) and commands. */
export interface Program {
  name: string;
  version: string;
  description: string;
  /** Options every command takes; `logFormat` and `LOG_LEVEL` set the log. */
  options: Option[];
  commands: Record<string, CommandEntry>;
}

/** Where help, the version and usage errors are written (parameters for tests). */
export interface ProgramOutput {
  stdout: (text: string) => void | Promise<void>;
  stderr: (text: string) => void | Promise<void>;
}

const CONSOLE: ProgramOutput = {
  stdout: (text) => writeAll(Deno.stdout, new TextEncoder().encode(text)),
  stderr: (text) => writeAll(Deno.stderr, new TextEncoder().encode(text)),
};

/**
 * Runs the command `argv` names, or prints the help or version asked for. Returns the exit code of a command line
 * refused (64, the message and a hint on stderr) or of help asked for (0); a command's own failure is thrown, for the
 * caller to map to its exit code.
 *
 * @example
 * ```ts
 * Deno.exit(await runProgram(program, Deno.args));
 * ```
 */
export async function runProgram(program: Program, argv: string[], out: ProgramOutput = CONSOLE): Promise<number> {
  const refuse = (message: string) => written(out.stderr, `error: ${message}\n(run with --help for usage)\n`, 64);
  const listed = () => ({
    name: program.name,
    description: program.description,
    options: program.options,
    commands: Object.entries(program.commands).map(([name, c]) => ({ name, summary: c.summary })),
  });
  // The command is the first argument that names one (`--log-format json batch ...` puts an option before it).
  const at = argv.findIndex((arg) => Object.hasOwn(program.commands, arg));
  if (at === -1) {
    if (argv[0] === "help" && argv.length <= 2) {
      if (argv[1] === undefined) return await written(out.stdout, programHelp(listed()), 0);
      return refuse(`unknown command '${argv[1]}'` + didYouMean(argv[1], Object.keys(program.commands)));
    }
    if (argv.includes("--version") || argv.includes("-V")) return await written(out.stdout, `${program.version}\n`, 0);
    if (argv.includes("--help") || argv.includes("-h")) return await written(out.stdout, programHelp(listed()), 0);
    const word = argv.find((arg) => !arg.startsWith("-"));
    if (word !== undefined) {
      return refuse(`unknown command '${word}'` + didYouMean(word, Object.keys(program.commands)));
    }
    if (argv.length > 0) return refuse(`unknown option '${argv[0]}'`);
    return await written(out.stderr, programHelp(listed()), 64);
  }
  const cmd = await program.commands[argv[at]].load();
  const help = () => written(out.stdout, commandHelp(program.name, cmd, program.options), 0);
  if (at === 1 && argv[0] === "help") return help();
  let parsed;
  try {
    parsed = cmd.parse(argv.filter((_, i) => i !== at), program.options);
  } catch (err) {
    if (err instanceof UsageError) return refuse(err.message);
    throw err;
  }
  if (parsed.help) return help();
  setUpLog(parsed.flags.logFormat);
  await cmd.run(parsed);
  return 0;
}

/** `text` written, then `code`: what the program ends with once it has said it. */
async function written(to: ProgramOutput["stdout"], text: string, code: number): Promise<number> {
  await to(text);
  return code;
}

/** Text for a person at a terminal, JSON lines for whatever collects them, unless told; `LOG_LEVEL` checked. */
function setUpLog(format: unknown): void {
  log.setFormat((format as "json" | "text" | undefined) ?? (Deno.stderr.isTerminal() ? "text" : "json"));
  const level = Deno.env.get("LOG_LEVEL");
  if (level === undefined) return;
  const l = level.trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(l)) {
    throw new UsageError(`LOG_LEVEL=${JSON.stringify(level)} is not a level: use one of ${LOG_LEVELS.join(", ")}`);
  }
  log.setLevel(l as (typeof LOG_LEVELS)[number]);
}
