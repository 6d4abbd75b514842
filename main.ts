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
import { batchCommand } from "./src/commands/batch.ts";
import { consumeCommand } from "./src/commands/consume.ts";
import { inspectCommand } from "./src/commands/inspect.ts";
import { profileCommand } from "./src/commands/profile.ts";
import { publishCommand } from "./src/commands/publish.ts";
import { serveCommand } from "./src/commands/serve.ts";
import { describeError } from "./src/errors.ts";
import { envOption } from "./src/cli/env_option.ts";
import { log, LOG_FORMATS } from "./src/log.ts";
import { VERSION } from "./src/version.ts";

export { VERSION };

/** Whether `err` (or what caused it) is a write to a pipe whose reader has gone. */
function closedPipe(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) if (e instanceof Deno.errors.BrokenPipe) return true;
  return false;
}

/** Builds the whole command tree (exported for tests of `--help`). */
export function program(): Command {
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
  for (
    const cmd of [
      batchCommand(),
      consumeCommand(),
      inspectCommand(),
      profileCommand(),
      publishCommand(),
      serveCommand(),
    ]
  ) {
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
    await program().parseAsync(Deno.args, { from: "user" });
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
