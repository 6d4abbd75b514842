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
import { envOption } from "./src/cli/env_option.ts";
import type { Program } from "./src/cli/program.ts";
import { runProgram } from "./src/cli/program.ts";
import type * as BatchCommand from "./src/commands/batch.ts";
import type * as ConsumeCommand from "./src/commands/consume.ts";
import type * as InspectCommand from "./src/commands/inspect.ts";
import type * as MergeDriftCommand from "./src/commands/merge_drift.ts";
import type * as ProfileCommand from "./src/commands/profile.ts";
import type * as PublishCommand from "./src/commands/publish.ts";
import type * as ServeCommand from "./src/commands/serve.ts";
import { closedPipe, describeError } from "./src/errors.ts";
import { lazyImport } from "./src/lazy_import.ts";
import { log, LOG_FORMATS } from "./src/log.ts";
import { VERSION } from "./src/version.ts";

export { VERSION };

/**
 * The program and its commands, each built from its module when named. Loaded by a computed specifier (see
 * src/lazy_import.ts): `score batch ...` loads the batch command alone, not the web service's or the consumer's code,
 * and `score --help` none. The type imports above keep every command (and, through theirs, every module loaded lazily)
 * in `deno check main.ts`.
 */
export const PROGRAM: Program = {
  name: "score",
  version: VERSION,
  description: "Run an ONNX model: batch jobs over files and Postgres, an HTTP service, a RabbitMQ consumer.",
  options: [
    envOption("--log-format <format>", "log lines as JSON, or as text for a person (default: text on a terminal)", {
      env: "LOG_FORMAT",
      choices: LOG_FORMATS,
    }),
  ],
  commands: {
    batch: {
      summary: "Score every row of a file or a Postgres query into a file or a Postgres table.",
      load: async () =>
        (await lazyImport<typeof BatchCommand>(new URL("./src/commands/batch.ts", import.meta.url))).batchCommand(),
    },
    consume: {
      summary: "Score the events of a RabbitMQ exchange and publish the predictions: one queue per model, acked only " +
        "after the broker confirmed the prediction.",
      load: async () =>
        (await lazyImport<typeof ConsumeCommand>(new URL("./src/commands/consume.ts", import.meta.url)))
          .consumeCommand(),
    },
    inspect: {
      summary: "Show a model's inputs, outputs, the columns a row needs and requests ready to send.",
      load: async () =>
        (await lazyImport<typeof InspectCommand>(new URL("./src/commands/inspect.ts", import.meta.url)))
          .inspectCommand(),
    },
    "merge-drift": {
      summary: "Merge the drift rows of a sharded score batch --monitor into each window's whole rows.",
      load: async () =>
        (await lazyImport<typeof MergeDriftCommand>(new URL("./src/commands/merge_drift.ts", import.meta.url)))
          .mergeDriftCommand(),
    },
    profile: {
      summary: "Profile a reference dataset's model inputs and predictions, for score batch --monitor.",
      load: async () =>
        (await lazyImport<typeof ProfileCommand>(new URL("./src/commands/profile.ts", import.meta.url)))
          .profileCommand(),
    },
    publish: {
      summary: 'Publish the rows of a file as events ({"ride": {...}, "ride_id": ...}) with publisher confirms; an ' +
        "event no queue is bound for is returned by the broker and stops the run (exit 69).",
      load: async () =>
        (await lazyImport<typeof PublishCommand>(new URL("./src/commands/publish.ts", import.meta.url)))
          .publishCommand(),
    },
    serve: {
      summary: "Serve models over HTTP: the course's POST /predict, and the Open Inference Protocol v2 (KServe, " +
        "Triton clients), also over gRPC with --grpc-port.",
      load: async () =>
        (await lazyImport<typeof ServeCommand>(new URL("./src/commands/serve.ts", import.meta.url))).serveCommand(),
    },
  },
};

if (import.meta.main) {
  try {
    const code = await runProgram(PROGRAM, Deno.args);
    if (code !== 0) Deno.exit(code);
  } catch (err) {
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
