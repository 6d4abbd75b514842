/**
 * `score batch`: the composition root of the offline job: the flag table,
 * then the plan (`batch_plan.ts`, flags checked before anything opens), the
 * model, and one job per window (`batch_job.ts`: source, sinks, pipeline,
 * summary). With `--period` it scores the
 * previous whole period; with `--backfill` each period of a range in
 * order, one source, sink and transaction per period.
 */
import { Command } from "../cli/command.ts";
import { envOption } from "../cli/env_option.ts";
import {
  formatOption,
  list,
  loadOptionsOf,
  modelOption,
  modelTuningOptions,
  pairList,
  progressOption,
  resolveOptionsOf,
  strictCategoriesOption,
  wholeNumber,
} from "../cli/options.ts";
import { listenForInterrupt, STOP_TIMEOUT_MS } from "../cli/interrupt.ts";
import { log } from "../log.ts";
import { lazyImport } from "../lazy_import.ts";
import type * as Store from "../store/mod.ts";
import type * as BatchJob from "./batch_job.ts";
import type * as BatchMonitor from "./batch_monitor.ts";
import type * as Sources from "../sources/mod.ts";
import {
  type BatchFlags,
  checkOneStdout,
  checkWindowFiles,
  modelWorker,
  planBatch,
  REPLACE_MODES,
  windowOptions,
  windowPath,
} from "./batch_plan.ts";
import { type MonitorFlags, monitorOptions, planMonitor } from "./monitor_plan.ts";

/**
 * The `batch` command.
 *
 * @example
 * ```sh
 * score batch --model models/ride-duration-linreg --input rides.parquet --output out.parquet --keep ride_id
 * score batch --model models/ride-duration-linreg --input postgres://app@db/rides \
 *   --query 'select * from rides where pickup >= $1 and pickup < $2' --period day \
 *   --output postgres://app@db/rides --output-table ride_predictions --keep ride_id
 * ```
 */
export function batchCommand(): Command {
  const cmd = new Command("batch", {
    description:
      "Score every row of a file or a Postgres query and write the predictions to a file or a Postgres table.\n" +
      "Postgres query parameters: with --period, $1 = window_start and $2 = window_end (timestamptz, [start, end));\n" +
      "then each --param value in the order given ($3, $4, ...; $1, $2, ... without --period).",
  });
  cmd.addOptions([
    modelOption(),
    envOption(
      "--input <path|url>",
      "rows to score: .parquet, .csv, .jsonl, .json (JSON lines or an array), - for stdin (JSON lines, or --input-format csv), or postgres://user@host:port/db (default with --query/--table: DATABASE_URL or PG* variables)",
      { env: "SCORE_INPUT" },
    ),
    envOption(
      "--output <path|url>",
      "where predictions go: .parquet, .csv, .jsonl, - for stdout (JSON lines, or --output-format csv), or postgres://... with --output-table (default with --output-table: DATABASE_URL or PG*)",
      { env: "SCORE_OUTPUT" },
    ),
    envOption("--query <sql>", "Postgres input: the SQL whose rows are scored ($1, $2, ... bound as described above)", {
      env: "SCORE_QUERY",
    }),
    envOption(
      "--table <name>",
      "Postgres input: a table (or schema.table) read whole, or by --time-column within the window",
      {
        env: "SCORE_TABLE",
      },
    ),
    envOption(
      "--time-column <column>",
      "with --table and --period: keep rows with window_start <= column < window_end",
      {
        env: "SCORE_TIME_COLUMN",
      },
    ),
    envOption("--param <name=value>", "a query parameter, bound (never pasted) in the order given (repeatable)", {
      parse: pairList,
    }),
    ...windowOptions(),
    envOption("--shard <K/N>", "Postgres input: score only shard K of N (rows whose --shard-key hashes to K-1 mod N)", {
      env: "SCORE_SHARD",
    }),
    envOption("--shard-key <column>", "the column --shard hashes (an id; kept in a Postgres output)", {
      env: "SCORE_SHARD_KEY",
    }),
    envOption(
      "--output-table <name>",
      "Postgres output table (or schema.table), created when missing; what a rerun replaces: see --replace",
      { env: "SCORE_OUTPUT_TABLE" },
    ),
    envOption(
      "--replace <mode>",
      "Postgres output and rejects tables: window = a rerun replaces the model version's rows of its window (the default with --period); " +
        "version = replaces every row of the model version (without --period); none = append (a rerun duplicates). " +
        "Without --period, choose one",
      { env: "SCORE_REPLACE", choices: REPLACE_MODES },
    ),
    envOption("--rejects-table <name>", "Postgres rejects table, when --rejects is postgres://...", {
      env: "SCORE_REJECTS_TABLE",
    }),
    formatOption("input"),
    formatOption("output"),
    envOption("--keep <columns>", "input columns copied to the output, comma-separated", {
      env: "SCORE_KEEP",
      parse: list,
    }),
    envOption(
      "--rejects <path|url>",
      "where rejected rows go (row, error, data): a file, or postgres://... with --rejects-table",
      {
        env: "SCORE_REJECTS",
      },
    ),
    formatOption("rejects"),
    envOption("--max-errors <n>", "exit non-zero (65) when more rows than this are rejected; -1: no limit", {
      env: "SCORE_MAX_ERRORS",
      parse: wholeNumber(-1),
      default: -1,
    }),
    envOption("--batch-size <n>", "rows per model run", {
      env: "SCORE_BATCH_SIZE",
      parse: wholeNumber(1),
      default: 10_000,
    }),
    progressOption(),
    strictCategoriesOption(),
    ...monitorOptions(),
    ...modelTuningOptions(),
  ]);
  return cmd.action(async (flags: BatchFlags & MonitorFlags) => {
    const plan = planBatch(flags);
    const monitorPlan = planMonitor(flags, flags.backfill === true);
    checkOneStdout([["--output", plan.output], ["--rejects", plan.rejects], ["--monitor-output", monitorPlan?.output]]);
    // Every window's names, the monitor's too, before the model loads or anything opens for writing.
    await checkWindowFiles(plan, [...plan.files, ...monitorPlan?.files ?? []]);
    // The file reader's worker and its DuckDB (a Parquet file, a large CSV file) start first, and load while this
    // thread loads the model; the first window's source takes them.
    const { prepareSource } = await lazyImport<typeof Sources>(new URL("../sources/mod.ts", import.meta.url));
    const prepared = await prepareSource(windowPath(plan, plan.windows[0], plan.input), plan.inputFormat);
    try {
      // The model's and the job's code load once the flags are checked: `score batch --help` loads neither.
      const [{ openModel }, { hasCategories, runWindow }] = await Promise.all([
        lazyImport<typeof Store>(new URL("../store/mod.ts", import.meta.url)),
        lazyImport<typeof BatchJob>(new URL("./batch_job.ts", import.meta.url)),
      ]);
      const model = (await openModel(flags.model, resolveOptionsOf(flags), {
        ...loadOptionsOf(flags),
        worker: await modelWorker(plan),
      }))
        .model;
      const interrupt = listenForInterrupt({
        stopping: "stopping; nothing of this run will be committed",
        stopTimeoutMs: STOP_TIMEOUT_MS,
      });
      try {
        const monitor = monitorPlan && {
          plan: monitorPlan,
          reference: await (await lazyImport<typeof BatchMonitor>(new URL("./batch_monitor.ts", import.meta.url)))
            .loadReference(monitorPlan.profile, model),
        };
        const totals = { read: 0, predicted: 0, rejected: 0, unknownCategories: 0, seconds: 0 };
        for (const window of plan.windows) {
          interrupt.signal.throwIfAborted();
          const summary = await runWindow(plan, model, window, interrupt.signal, monitor);
          totals.read += summary.read;
          totals.predicted += summary.predicted;
          totals.rejected += summary.rejected;
          totals.unknownCategories += summary.unknownCategories;
          totals.seconds += summary.seconds;
        }
        if (plan.windows.length > 1) {
          log.info("backfill done", {
            model: model.name,
            version: model.version,
            windows: plan.windows.length,
            read: totals.read,
            predicted: totals.predicted,
            rejected: totals.rejected,
            ...(hasCategories(model) ? { unknown_categories: totals.unknownCategories } : {}),
            seconds: Math.round(totals.seconds * 1000) / 1000,
          });
        }
      } finally {
        interrupt.dispose();
        await model.close();
      }
    } finally {
      await prepared.release();
    }
  });
}
