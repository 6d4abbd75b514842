/**
 * `score`: run an ONNX model as a batch job, a web service or a queue
 * consumer. This file only dispatches to a command and turns a failure
 * into its exit code; each command is its own composition root.
 *
 * @example
 * ```sh
 * ./score batch --model models/ride-duration-linreg --input rides.parquet --output predictions.parquet
 * ```
 */
import { Command, CommanderError } from "commander";
import { checkOptions } from "./src/cli/check_options.ts";
import type * as BatchCommand from "./src/commands/batch.ts";
import type * as ConsumeCommand from "./src/commands/consume.ts";
import type * as InspectCommand from "./src/commands/inspect.ts";
import type * as MergeDriftCommand from "./src/commands/merge_drift.ts";
import type * as ProfileCommand from "./src/commands/profile.ts";
import type * as PublishCommand from "./src/commands/publish.ts";
import type * as ServeCommand from "./src/commands/serve.ts";
import { closedPipe, describeError } from "./src/errors.ts";
import { envOption } from "./src/cli/env_option.ts";
import { lazyImport } from "./src/lazy_import.ts";
import { log, LOG_FORMATS } from "./src/log.ts";
import { VERSION } from "./src/version.ts";

export { VERSION };

/**
 * Each command, built from its module. Loaded by a computed specifier (see src/lazy_import.ts): `score batch ...` loads
 * the batch command alone, not the web service's or the consumer's code. The type imports above keep every command
 * (and, through theirs, every module loaded lazily) in `deno check main.ts`.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  batch: async () =>
    (await lazyImport<typeof BatchCommand>(new URL("./src/commands/batch.ts", import.meta.url))).batchCommand(),
  consume: async () =>
    (await lazyImport<typeof ConsumeCommand>(new URL("./src/commands/consume.ts", import.meta.url))).consumeCommand(),
  inspect: async () =>
    (await lazyImport<typeof InspectCommand>(new URL("./src/commands/inspect.ts", import.meta.url))).inspectCommand(),
  "merge-drift": async () =>
    (await lazyImport<typeof MergeDriftCommand>(new URL("./src/commands/merge_drift.ts", import.meta.url)))
      .mergeDriftCommand(),
  profile: async () =>
    (await lazyImport<typeof ProfileCommand>(new URL("./src/commands/profile.ts", import.meta.url))).profileCommand(),
  publish: async () =>
    (await lazyImport<typeof PublishCommand>(new URL("./src/commands/publish.ts", import.meta.url))).publishCommand(),
  serve: async () =>
    (await lazyImport<typeof ServeCommand>(new URL("./src/commands/serve.ts", import.meta.url))).serveCommand(),
};

/**
 * Builds the command tree (exported for tests of `--help`): with `only` (a command's name), that command alone, which
 * is all its run or its `--help` needs; otherwise every command (`score --help`, an unknown command's suggestion).
 */
export async function program(only?: string): Promise<Command> {
  const root = new Command("score")
    .description("Run an ONNX model: batch jobs over files and Postgres, an HTTP service, a RabbitMQ consumer.")
    .version(VERSION)
    .showHelpAfterError("(run with --help for usage)");
  root.addOption(
    envOption("--log-format <format>", "log lines as JSON, or as text for a person (default: text on a terminal)", {
      env: "LOG_FORMAT",
      choices: LOG_FORMATS,
    }),
  );
  const names = only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  for (const cmd of await Promise.all(names.map((name) => COMMANDS[name]()))) {
    // Each command's --help lists --log-format too, which it takes before or after the command's name.
    root.addCommand(cmd.configureHelp({ showGlobalOptions: true }));
  }
  root.exitOverride();
  for (const cmd of root.commands) cmd.exitOverride();
  checkOptions(root);
  return root;
}

if (import.meta.main) {
  try {
    // The command is the first argument that names one (`--log-format json batch ...` puts an option before it).
    const named = Deno.args.find((arg) => Object.hasOwn(COMMANDS, arg));
    await (await program(named)).parseAsync(Deno.args, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed the help, version or usage error.
      Deno.exit(err.exitCode === 0 ? 0 : 64);
    }
    if (closedPipe(err)) {
      // `score batch --output - | head`: the reader has all it wanted; a normal end, as for any Unix filter.
      log.debug("stdout closed by its reader: stopping", { error: String(err) });
      Deno.exit(0);
    }
    const failure = describeError(err);
    log.error(failure.message, { code: failure.code });
    Deno.exit(failure.exitCode);
  }
}
