/**
 * `score profile`: the reference a monitor compares with. It reads an input
 * as `score batch` does (the same sources, the same pipeline), scores it,
 * and writes a profile of every input column and output of the model,
 * folded in one pass in bounded memory.
 */
import { Command } from "../cli/command.ts";
import { envOption } from "../cli/env_option.ts";
import {
  formatOption,
  list,
  loadOptionsOf,
  modelOption,
  type ModelTuningFlags,
  modelTuningOptions,
  pairList,
  progressOption,
  resolveOptionsOf,
  wholeNumber,
} from "../cli/options.ts";
import { listenForInterrupt, STOP_TIMEOUT_MS } from "../cli/interrupt.ts";
import { startProgress } from "../cli/progress.ts";
import type * as RunBatch from "../batch/run_batch.ts";
import { log } from "../log.ts";
import { lazyImport } from "../lazy_import.ts";
import type { DatasetProfile } from "../monitor/mod.ts";
import type * as Monitor from "../monitor/mod.ts";
import type * as Sinks from "../sinks/mod.ts";
import type * as Sources from "../sources/mod.ts";
import type * as Store from "../store/mod.ts";
import type * as MonitorColumns from "./monitor_columns.ts";
import { checkWindowFiles, type InputFlags, planInput } from "./batch_plan.ts";

interface ProfileFlags extends ModelTuningFlags, InputFlags {
  model: string;
  output: string;
  categorical?: string[];
  batchSize: number;
  progress: boolean;
}

/** Rejected rows logged one by one before the rest are only counted. */
const LOGGED_REJECTS = 20;

/**
 * The `profile` command.
 *
 * @example
 * ```sh
 * score profile --model ride-duration-linreg --input data/green_tripdata_2021-01.parquet \
 *   --categorical PULocationID,DOLocationID --output reference.json
 * ```
 */
export function profileCommand(): Command {
  const cmd = new Command("profile", {
    description:
      "Score every row of a file or a Postgres query, as score batch does, and write a profile of each model input " +
      "column and each output (numeric: quantile sketch, mean, spread, missing share; categorical: counts), the " +
      "reference that score batch --monitor compares each window with. One pass, bounded memory.",
  });
  cmd.addOptions([
    modelOption(),
    envOption(
      "--input <path|url>",
      "the reference rows: .parquet, .csv, .jsonl, .json, - for stdin, or postgres://... with --query or --table",
      { env: "SCORE_INPUT" },
    ),
    envOption("--output <path>", "where the profile (JSON) goes; - for stdout", {
      env: "SCORE_PROFILE_OUTPUT",
      required: true,
    }),
    envOption("--query <sql>", "Postgres input: the SQL whose rows are profiled ($1, $2, ... from --param)", {
      env: "SCORE_QUERY",
    }),
    envOption("--table <name>", "Postgres input: a table (or schema.table) read whole", { env: "SCORE_TABLE" }),
    envOption("--param <name=value>", "a query parameter, bound in the order given (repeatable)", {
      parse: pairList,
    }),
    formatOption("input"),
    envOption(
      "--categorical <columns>",
      "model columns (inputs or outputs) profiled as categories though they hold numbers (ids, labels), comma-separated; text and booleans always are",
      { env: "SCORE_CATEGORICAL", parse: list },
    ),
    envOption("--batch-size <n>", "rows per model run", {
      env: "SCORE_BATCH_SIZE",
      parse: wholeNumber(1),
      default: 10_000,
    }),
    progressOption(),
    ...modelTuningOptions(),
  ]);
  return cmd.action(async (flags: ProfileFlags) => {
    // The rows are read as score batch reads them: its input flags, checks and messages.
    const plan = planInput(flags);
    // The profile is written after the last row is read: over its input, it would replace the data it describes.
    await checkWindowFiles(
      { windows: [undefined] },
      [...plan.files, { flag: "--output", path: flags.output }].filter((f) => f.path !== "-"),
    );
    // The model's, the profile's and the pipeline's code load once the flags are checked, not for `--help`.
    const [
      { openModel },
      { DatasetProfile },
      { runBatch },
      { DiscardSink },
      { openSource, prepareSource },
      { foldScored, monitorColumns },
    ] = await Promise.all([
      lazyImport<typeof Store>(new URL("../store/mod.ts", import.meta.url)),
      lazyImport<typeof Monitor>(new URL("../monitor/mod.ts", import.meta.url)),
      lazyImport<typeof RunBatch>(new URL("../batch/run_batch.ts", import.meta.url)),
      lazyImport<typeof Sinks>(new URL("../sinks/mod.ts", import.meta.url)),
      lazyImport<typeof Sources>(new URL("../sources/mod.ts", import.meta.url)),
      lazyImport<typeof MonitorColumns>(new URL("./monitor_columns.ts", import.meta.url)),
    ]);
    // As score batch does: the file reader's worker loads while this thread loads the model.
    const prepared = await prepareSource(plan.input, plan.inputFormat);
    let model;
    try {
      model = (await openModel(flags.model, resolveOptionsOf(flags), loadOptionsOf(flags))).model;
    } catch (err) {
      await prepared.release();
      throw err;
    }
    const interrupt = listenForInterrupt({
      stopping: "stopping; no profile is written",
      stopTimeoutMs: STOP_TIMEOUT_MS,
    });
    try {
      const profile = new DatasetProfile(
        { name: model.name, version: model.version },
        monitorColumns(model, flags.categorical),
      );
      const source = await openSource(plan.input, plan.inputFormat, {
        query: plan.query,
        table: plan.table,
        params: plan.params,
        labels: { query: "--query", table: "--table", params: "(each --param in order)" },
      }, "--input-format");
      log.info("profile started", { model: model.name, version: model.version, input: source.description });
      const progress = flags.progress ? await startProgress("profiling", () => source.progress?.()) : undefined;
      let logged = 0;
      const summary = await runBatch({
        model,
        source,
        sink: new DiscardSink(),
        batchSize: flags.batchSize,
        signal: interrupt.signal,
        onProgress: (p) => progress?.update(p),
        onReject: (row, error) => {
          if (logged++ < LOGGED_REJECTS) log.warn("row rejected", { row, error });
        },
        onScored: foldScored(model, () => profile),
      }).finally(() => progress?.stop());
      await writeProfile(flags.output, profile);
      log.info("profile done", {
        model: model.name,
        version: model.version,
        output: flags.output,
        read: summary.read,
        predicted: summary.predicted,
        rejected: summary.rejected,
        columns: profile.specs.length,
        seconds: Math.round(summary.seconds * 1000) / 1000,
      });
    } finally {
      interrupt.dispose();
      await prepared.release();
      await model.close();
    }
  });
}

/** Writes the profile whole: under a temporary name renamed at the end, so a crash leaves no half file. */
async function writeProfile(path: string, profile: DatasetProfile): Promise<void> {
  const { writeAll, writeWhole } = await lazyImport<typeof Sinks>(new URL("../sinks/mod.ts", import.meta.url));
  const bytes = new TextEncoder().encode(JSON.stringify(profile) + "\n");
  if (path === "-") {
    await writeAll(Deno.stdout, bytes);
    return;
  }
  await writeWhole(path, bytes);
}
