/**
 * `score batch`: the composition root of the offline job. It reads flags,
 * opens the model, the source and the sinks, runs the batch pipeline with
 * a progress display and reports a summary. With `--period` it scores the
 * previous whole period; with `--backfill` each period of a range in
 * order, one source, sink and transaction per period.
 */
import { Command, Option } from "commander";
import {
  backfillWindows,
  parseTimestamp,
  type Period,
  PERIODS,
  periodWindow,
  type Window,
  windowLabel,
} from "../batch/period_window.ts";
import { type BatchSummary, type Constant, runBatch } from "../batch/run_batch.ts";
import {
  formatOption,
  list,
  loadOptions,
  modelOption,
  modelTuningOptions,
  pairList,
  storeOptions,
  wholeNumber,
} from "../cli/options.ts";
import { listenForInterrupt, STOP_TIMEOUT_MS } from "../cli/interrupt.ts";
import { startProgress } from "../cli/progress.ts";
import { UsageError } from "../errors.ts";
import { log } from "../log.ts";
import type { Model } from "../model/mod.ts";
import { openModel } from "../store/mod.ts";
import { isPostgresUrl, resolveTarget } from "../postgres/connect.ts";
import { PgTransaction } from "../postgres/pg_transaction.ts";
import { parseShard, type Shard } from "../postgres/shard.ts";
import { createSink } from "../sinks/create_sink.ts";
import type { Replace } from "../sinks/postgres_sink.ts";
import type { Sink } from "../sinks/sink.ts";
import { openSource } from "../sources/open_source.ts";

/** Reject lines logged when no `--rejects` is given, before the rest are only counted. */
const LOGGED_REJECTS = 20;

/** Stands for "the database in DATABASE_URL / PG*" when no URL is given. */
const POSTGRES_FROM_ENV = "postgres:";

interface BatchFlags {
  model: string;
  cacheDir: string;
  input?: string;
  output?: string;
  query?: string;
  table?: string;
  timeColumn?: string;
  param?: [string, string][];
  period?: Period;
  at?: string;
  backfill?: boolean;
  from?: string;
  to?: string;
  shard?: string;
  shardKey?: string;
  outputTable?: string;
  replace?: ReplaceMode;
  rejectsTable?: string;
  inputFormat?: string;
  outputFormat?: string;
  keep?: string[];
  rejects?: string;
  rejectsFormat?: string;
  maxErrors: number;
  batchSize: number;
  progress: boolean;
  threads: number;
  graphOptimization: string;
  rename?: Record<string, string>;
}

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
  const cmd = new Command("batch")
    .summary("Score every row of a file or a Postgres query into a file or a Postgres table.")
    .description(
      "Score every row of a file or a Postgres query and write the predictions to a file or a Postgres table.\n" +
        "Postgres query parameters: with --period, $1 = window_start and $2 = window_end (timestamptz, [start, end));\n" +
        "then each --param value in the order given ($3, $4, ...; $1, $2, ... without --period).",
    )
    .addOption(modelOption())
    .addOption(
      new Option(
        "--input <path|url>",
        "rows to score: .parquet, .csv, .jsonl, .json (JSON lines or an array), - for stdin (JSON lines, or --input-format csv), or postgres://user@host:port/db (default with --query/--table: DATABASE_URL or PG* variables)",
      ).env("SCORE_INPUT"),
    )
    .addOption(
      new Option(
        "--output <path|url>",
        "where predictions go: .parquet, .csv, .jsonl, - for stdout (JSON lines, or --output-format csv), or postgres://... with --output-table (default with --output-table: DATABASE_URL or PG*)",
      ).env("SCORE_OUTPUT"),
    )
    .addOption(
      new Option(
        "--query <sql>",
        "Postgres input: the SQL whose rows are scored ($1, $2, ... bound as described above)",
      ).env("SCORE_QUERY"),
    )
    .addOption(
      new Option(
        "--table <name>",
        "Postgres input: a table (or schema.table) read whole, or by --time-column within the window",
      ).env("SCORE_TABLE"),
    )
    .addOption(
      new Option(
        "--time-column <column>",
        "with --table and --period: keep rows with window_start <= column < window_end",
      ).env("SCORE_TIME_COLUMN"),
    )
    .addOption(
      new Option("--param <name=value>", "a query parameter, bound (never pasted) in the order given (repeatable)")
        .argParser(pairList),
    )
    .addOption(
      new Option("--period <period>", "score the previous whole period before --at, [start, end) in UTC").env(
        "SCORE_PERIOD",
      ).choices(PERIODS),
    )
    .addOption(
      new Option("--at <timestamp>", "with --period: the run's time (ISO 8601, a date, or now; no zone = UTC)").env(
        "SCORE_AT",
      ).default("now"),
    )
    .addOption(
      new Option(
        "--backfill",
        "with --period, --from and --to: score every period in [from, to) in order, one transaction each",
      ).env("SCORE_BACKFILL"),
    )
    .addOption(
      new Option("--from <timestamp>", "backfill start (the period containing it is the first)").env("SCORE_FROM"),
    )
    .addOption(new Option("--to <timestamp>", "backfill end (exclusive)").env("SCORE_TO"))
    .addOption(
      new Option(
        "--shard <K/N>",
        "Postgres input: score only shard K of N (rows whose --shard-key hashes to K-1 mod N)",
      ).env("SCORE_SHARD"),
    )
    .addOption(
      new Option("--shard-key <column>", "the column --shard hashes (an id; kept in a Postgres output)").env(
        "SCORE_SHARD_KEY",
      ),
    )
    .addOption(
      new Option(
        "--output-table <name>",
        "Postgres output table (or schema.table), created when missing; what a rerun replaces: see --replace",
      ).env("SCORE_OUTPUT_TABLE"),
    )
    .addOption(
      new Option(
        "--replace <mode>",
        "Postgres output and rejects tables: window = a rerun replaces the model version's rows of its window (the default with --period); " +
          "version = replaces every row of the model version (without --period); none = append (a rerun duplicates). " +
          "Without --period, choose one",
      ).env("SCORE_REPLACE").choices(REPLACE_MODES),
    )
    .addOption(
      new Option("--rejects-table <name>", "Postgres rejects table, when --rejects is postgres://...").env(
        "SCORE_REJECTS_TABLE",
      ),
    )
    .addOption(
      formatOption("input"),
    )
    .addOption(
      formatOption("output"),
    )
    .addOption(
      new Option("--keep <columns>", "input columns copied to the output, comma-separated").env("SCORE_KEEP").argParser(
        list,
      ),
    )
    .addOption(
      new Option(
        "--rejects <path|url>",
        "where rejected rows go (row, error, data): a file, or postgres://... with --rejects-table",
      ).env("SCORE_REJECTS"),
    )
    .addOption(
      formatOption("rejects"),
    )
    .addOption(
      new Option("--max-errors <n>", "exit non-zero (65) when more rows than this are rejected; -1: no limit").env(
        "SCORE_MAX_ERRORS",
      ).argParser(wholeNumber(-1)).default(-1),
    )
    .addOption(
      new Option("--batch-size <n>", "rows per model run").env("SCORE_BATCH_SIZE").argParser(wholeNumber(1)).default(
        10_000,
      ),
    )
    .addOption(new Option("--no-progress", "no progress bar or progress lines").env("SCORE_NO_PROGRESS"));
  for (const o of modelTuningOptions()) cmd.addOption(o);
  return cmd.action(async (flags: BatchFlags) => {
    const plan = planJob(flags);
    const model = (await openModel(flags.model, storeOptions(flags), loadOptions(flags))).model;
    const interrupt = listenForInterrupt({
      stopping: "stopping; nothing of this run will be committed",
      stopTimeoutMs: STOP_TIMEOUT_MS,
    });
    try {
      const totals = { read: 0, predicted: 0, rejected: 0, seconds: 0 };
      for (const window of plan.windows) {
        interrupt.signal.throwIfAborted();
        const summary = await runWindow(flags, plan, model, window, interrupt.signal);
        totals.read += summary.read;
        totals.predicted += summary.predicted;
        totals.rejected += summary.rejected;
        totals.seconds += summary.seconds;
      }
      if (plan.windows.length > 1) {
        log.info("backfill done", {
          model: model.name,
          version: model.version,
          windows: plan.windows.length,
          ...totals,
          seconds: Math.round(totals.seconds * 1000) / 1000,
        });
      }
    } finally {
      interrupt.dispose();
      await model.close();
    }
  });
}

/** What the flags resolve to before anything is opened. */
interface Plan {
  input: string;
  output: string;
  pgInput: boolean;
  pgOutput: boolean;
  params: string[];
  shard?: Shard;
  keep?: string[];
  /** One run per window; `undefined` is a run without a window. */
  windows: (Window | undefined)[];
}

// Every flag combination is checked here, before the model loads or a
// connection opens, so a wrong command line fails fast with exit 64.
function planJob(flags: BatchFlags): Plan {
  const pgSource = flags.query !== undefined || flags.table !== undefined;
  const input = flags.input ?? (pgSource ? POSTGRES_FROM_ENV : undefined);
  if (input === undefined) {
    throw new UsageError("--input is required (a file, or postgres://... with --query or --table)");
  }
  const output = flags.output ?? (flags.outputTable !== undefined ? POSTGRES_FROM_ENV : undefined);
  if (output === undefined) {
    throw new UsageError("--output is required (a file, -, or postgres://... with --output-table)");
  }
  const pgInput = isPostgresUrl(input) && flags.inputFormat === undefined;
  const pgOutput = isPostgresUrl(output) && flags.outputFormat === undefined;
  if (pgInput && !pgSource) throw new UsageError("A Postgres --input needs --query SQL or --table NAME");
  if (!pgInput && pgSource) {
    throw new UsageError(
      "--query and --table read from Postgres: give --input postgres://... (or none, for DATABASE_URL / PG*)",
    );
  }
  if (flags.query !== undefined && flags.table !== undefined) throw new UsageError("Give --query or --table, not both");
  if (flags.timeColumn !== undefined && flags.table === undefined) {
    throw new UsageError("--time-column goes with --table (with --query, use $1 and $2 in the query)");
  }
  if (flags.timeColumn !== undefined && flags.period === undefined) {
    throw new UsageError("--time-column needs --period: it selects the window's rows");
  }
  if (!pgOutput && flags.outputTable !== undefined) {
    throw new UsageError("--output-table goes with a Postgres --output (postgres://...)");
  }
  if (pgOutput && flags.outputTable === undefined) {
    throw new UsageError("A Postgres --output needs --output-table NAME");
  }
  if (isPostgresUrl(flags.rejects) && flags.rejectsFormat === undefined && flags.rejectsTable === undefined) {
    throw new UsageError("A Postgres --rejects needs --rejects-table NAME");
  }
  if (flags.rejectsTable !== undefined && !isPostgresUrl(flags.rejects)) {
    throw new UsageError("--rejects-table goes with --rejects postgres://...");
  }
  const shard = flags.shard !== undefined ? parseShard(flags.shard, flags.shardKey) : undefined;
  if (shard && !pgInput) throw new UsageError("--shard splits a Postgres query: it needs a Postgres --input");
  if (flags.shardKey !== undefined && !shard) throw new UsageError("--shard-key goes with --shard K/N");
  let keep = flags.keep;
  // A rerun of shard K replaces the rows whose key hashes to K, so the key
  // must be in the table (and in the rejects' data).
  const pgRejects = isPostgresUrl(flags.rejects) && flags.rejectsFormat === undefined;
  if (shard && (pgOutput || pgRejects) && !(keep ?? []).includes(shard.key)) keep = [...(keep ?? []), shard.key];
  let windows: (Window | undefined)[] = [undefined];
  if (flags.backfill) {
    if (!flags.period || flags.from === undefined || flags.to === undefined) {
      throw new UsageError("--backfill needs --period, --from and --to");
    }
    windows = backfillWindows(flags.period, parseTimestamp(flags.from, "--from"), parseTimestamp(flags.to, "--to"));
    for (const [path, flag] of [[output, "--output"], [flags.rejects, "--rejects"]] as const) {
      if (path !== undefined && !isPostgresUrl(path) && path !== "-" && !path.includes("{window}")) {
        throw new UsageError(
          `With --backfill, a file ${flag} needs {window} in its name (e.g. out/{window}.parquet), or each period would overwrite the last`,
        );
      }
    }
  } else if (flags.from !== undefined || flags.to !== undefined) {
    throw new UsageError("--from and --to go with --backfill");
  } else if (flags.period) {
    windows = [periodWindow(flags.period, parseTimestamp(flags.at ?? "now", "--at"))];
  }
  if (flags.table !== undefined && flags.timeColumn === undefined && flags.period) {
    // Else every window would score (and store) the whole table again.
    throw new UsageError("--table with --period needs --time-column COLUMN (or a --query using $1 and $2)");
  }
  replaceMode(flags, pgOutput || pgRejects);
  const params = (flags.param ?? []).map(([, value]) => value);
  return { input, output, pgInput, pgOutput, params, shard, keep, windows };
}

async function runWindow(
  flags: BatchFlags,
  plan: Plan,
  model: Model,
  window: Window | undefined,
  signal: AbortSignal,
): Promise<BatchSummary> {
  const scoredAt = new Date();
  const constants: Constant[] = window
    ? [
      { name: "window_start", type: "timestamptz", value: window.start },
      { name: "window_end", type: "timestamptz", value: window.end },
      { name: "scored_at", type: "timestamptz", value: scoredAt },
    ]
    : plan.pgOutput
    ? [{ name: "scored_at", type: "timestamptz", value: scoredAt }]
    : [];
  // The slice a rerun replaces: this model version's rows of this window (or of every row, with
  // --replace version), and of this shard; nothing with --replace none.
  const match = [
    { name: "model_name", type: "string" as const, value: model.name },
    { name: "model_version", type: "string" as const, value: model.version },
    ...constants.filter((c) => c.name !== "scored_at"),
  ];
  const replaceRule = replaceMode(flags, plan.pgOutput);
  const label = window && flags.period ? windowLabel(flags.period, window) : "";
  const named = (path: string) => path.replaceAll("{window}", label);
  const source = await openSource(named(plan.input), flags.inputFormat, {
    query: flags.query,
    table: flags.table,
    timeColumn: flags.timeColumn,
    params: window ? [window.start.toISOString(), window.end.toISOString(), ...plan.params] : plan.params,
    shard: plan.shard,
  });
  let sink: Sink;
  let rejects: Sink | undefined;
  try {
    const replace: Replace | undefined = replaceRule === "none" ? undefined : { match, shard: plan.shard };
    // Predictions and rejects in one database share one transaction: a window's new rows of both appear together.
    const transaction = sameDatabase(plan.output, flags.outputFormat, flags.rejects, flags.rejectsFormat)
      ? new PgTransaction(named(plan.output))
      : undefined;
    sink = createSink(named(plan.output), flags.outputFormat, undefined, {
      table: flags.outputTable!,
      replace,
      transaction,
    });
    rejects = flags.rejects
      ? createSink(named(flags.rejects), flags.rejectsFormat, "--rejects-format", {
        table: flags.rejectsTable!,
        replace: replace && { ...replace, shardKeyIn: "data" },
        transaction,
      })
      : undefined;
  } catch (err) {
    await source.close();
    throw err;
  }
  const where = window ? { window_start: window.start.toISOString(), window_end: window.end.toISOString() } : {};
  log.info("batch started", {
    model: model.name,
    version: model.version,
    input: source.description,
    output: sink.description,
    ...where,
  });
  const progress = flags.progress ? startProgress("scoring", () => source.progress?.()) : undefined;
  let unlogged = 0;
  const summary = await runBatch({
    model,
    source,
    sink,
    rejects,
    keep: plan.keep,
    batchSize: flags.batchSize,
    constants,
    maxRejects: flags.maxErrors,
    signal,
    onProgress: (p) => progress?.update(p),
    onReject: (row, error) => {
      if (rejects) return;
      if (unlogged++ < LOGGED_REJECTS) log.warn("row rejected", { row, error });
    },
  }).finally(() => progress?.stop());
  log.info(window ? "window done" : "batch done", {
    model: model.name,
    version: model.version,
    ...where,
    output: sink.description,
    rejects: rejects?.description,
    read: summary.read,
    predicted: summary.predicted,
    rejected: summary.rejected,
    seconds: Math.round(summary.seconds * 1000) / 1000,
    rows_per_s: Math.round(summary.rowsPerSecond),
  });
  if (window && summary.read === 0) {
    // An empty window is most often a window or a query that does not select what the user meant.
    log.info(
      "the window had no rows: check its bounds against the data, and the query (or --table and --time-column) that selects it",
      {
        ...where,
        ...(flags.query ? { query: flags.query } : { table: flags.table, time_column: flags.timeColumn }),
      },
    );
  }
  return summary;
}

/** Whether the output and the rejects are tables of one Postgres database (same host, port, database and user). */
function sameDatabase(output: string, outputFormat?: string, rejects?: string, rejectsFormat?: string): boolean {
  if (!isPostgresUrl(output) || outputFormat !== undefined) return false;
  if (!isPostgresUrl(rejects) || rejectsFormat !== undefined) return false;
  return resolveTarget(output).description === resolveTarget(rejects).description;
}

/** What a rerun into a Postgres table replaces. */
type ReplaceMode = "window" | "version" | "none";
const REPLACE_MODES: ReplaceMode[] = ["window", "version", "none"];

/**
 * The --replace rule, checked: `window` needs --period (and is its
 * default), `version` goes without it, and a Postgres table written
 * without --period needs an explicit choice, so nothing is deleted by
 * surprise (scoring day2.csv would otherwise replace day1.csv's rows).
 */
function replaceMode(flags: BatchFlags, pgTable: boolean): ReplaceMode {
  const mode = flags.replace;
  if (flags.period) {
    if (mode === "version") {
      throw new UsageError(
        "--replace version deletes every row of the model version, other windows too: with --period use --replace window (or none)",
      );
    }
    return mode ?? "window";
  }
  if (mode === "window") throw new UsageError("--replace window needs --period (the window is what it replaces)");
  if (mode === undefined && pgTable) {
    throw new UsageError(
      "Writing a Postgres table without --period: choose what a rerun replaces with --replace version " +
        "(every row of this model version, so a rerun replaces them) or --replace none (append; a rerun duplicates)",
    );
  }
  return mode ?? "none";
}
