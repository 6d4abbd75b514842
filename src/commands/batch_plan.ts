/**
 * `score batch`'s flags, resolved and checked into a plan before anything
 * is opened (pure: unit-tested without I/O). Flag names live here, in the
 * command layer: the messages name the flags to change.
 */
import {
  backfillWindows,
  parseTimestamp,
  type Period,
  PERIODS,
  periodWindow,
  type Window,
  windowLabel,
} from "../batch/period_window.ts";
import type { FileFlag } from "../cli/check_distinct_files.ts";
import type * as CheckDistinctFiles from "../cli/check_distinct_files.ts";
import { envOption, type Option } from "../cli/env_option.ts";
import { lazyImport } from "../lazy_import.ts";
import type { ModelTuningFlags } from "../cli/options.ts";
import { UsageError } from "../errors.ts";
import { isPostgresUrl, resolveTarget } from "../postgres/postgres_url.ts";
import { parseShard, type Shard } from "../postgres/shard.ts";

/** Stands for "the database in DATABASE_URL / PG*" when no URL is given. */
export const POSTGRES_FROM_ENV = "postgres:";

/** The flags of `score batch`, as the command line gives them. */
export interface BatchFlags extends ModelTuningFlags, InputFlags, WindowFlags {
  model: string;
  output?: string;
  shard?: string;
  shardKey?: string;
  outputTable?: string;
  replace?: ReplaceMode;
  rejectsTable?: string;
  outputFormat?: string;
  keep?: string[];
  rejects?: string;
  rejectsFormat?: string;
  maxErrors: number;
  batchSize: number;
  progress: boolean;
  rename?: Record<string, string>;
}

/** What the flags resolve to before anything is opened: all a window's job needs. */
export interface BatchPlan extends InputPlan {
  output: string;
  pgOutput: boolean;
  /**
   * The flags that name files (`{window}` not yet replaced): no two may name one file (`checkDistinctFiles`), or an
   * output would overwrite the input or the other output.
   */
  files: FileFlag[];
  /**
   * Where the model runs (`loadModel`'s `worker`): in a worker when the job's own thread reads or writes Postgres
   * (it parses and encodes the rows, so it has work to do meanwhile, even for the linear model); else where it is cheapest (`"auto"`), files being read and written by DuckDB's and the writer's threads.
   */
  worker: true | "auto";
  shard?: Shard;
  keep?: string[];
  /** One run per window; `undefined` is a run without a window. */
  windows: (Window | undefined)[];
  /** What a rerun into a Postgres table replaces. */
  replace: ReplaceMode;
  /** Predictions and rejects go to tables of one database: they share one transaction per window. */
  sharedTransaction: boolean;
  period?: Period;
  outputFormat?: string;
  outputTable?: string;
  rejects?: string;
  rejectsFormat?: string;
  rejectsTable?: string;
  batchSize: number;
  maxErrors: number;
  progress: boolean;
}

/**
 * Resolves and checks the flags. Every flag combination is checked here,
 * before the model loads or a connection opens, so a wrong command line
 * fails fast with exit 64. Pure: it reads nothing but the flags (and, for a
 * Postgres URL left out, the environment's connection variables).
 *
 * @example
 * ```ts
 * planBatch({ input: "rides.parquet", output: "out.parquet", maxErrors: -1, batchSize: 10_000, progress: false, ... });
 * // { input: "rides.parquet", output: "out.parquet", windows: [undefined], replace: "none", ... }
 * ```
 */
export function planBatch(flags: BatchFlags): BatchPlan {
  const source = planInput(flags);
  const { pgInput } = source;
  const output = flags.output ?? (flags.outputTable !== undefined ? POSTGRES_FROM_ENV : undefined);
  if (output === undefined) {
    throw new UsageError("--output is required (a file, -, or postgres://... with --output-table)");
  }
  const pgOutput = isPostgresUrl(output) && flags.outputFormat === undefined;
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
  checkOneStdout([["--output", output], ["--rejects", flags.rejects]]);
  const shard = flags.shard !== undefined
    ? parseShard(flags.shard, flags.shardKey, { shard: "--shard", key: "--shard-key" })
    : undefined;
  if (shard && !pgInput) throw new UsageError("--shard splits a Postgres query: it needs a Postgres --input");
  if (flags.shardKey !== undefined && !shard) throw new UsageError("--shard-key goes with --shard K/N");
  let keep = flags.keep;
  // A rerun of shard K replaces the rows whose key hashes to K, so the key
  // must be in the table (and in the rejects' data).
  const pgRejects = isPostgresUrl(flags.rejects) && flags.rejectsFormat === undefined;
  if (shard && (pgOutput || pgRejects) && !(keep ?? []).includes(shard.key)) keep = [...(keep ?? []), shard.key];
  const windows = planWindows(flags, [[output, "--output"], [flags.rejects, "--rejects"]]);
  if (flags.table !== undefined && flags.timeColumn === undefined && flags.period) {
    // Else every window would score (and store) the whole table again.
    throw new UsageError("--table with --period needs --time-column COLUMN (or a --query using $1 and $2)");
  }
  const replace = replaceMode(flags, pgOutput || pgRejects);
  // One line per flag that names a file.
  const files = [
    ...source.files,
    ...fileFlags([["--output", pgOutput ? undefined : output], ["--rejects", pgRejects ? undefined : flags.rejects]]),
  ];
  return {
    ...source,
    output,
    pgOutput,
    files,
    worker: pgInput || pgOutput ? true : "auto",
    shard,
    keep,
    windows,
    replace,
    sharedTransaction: sameDatabase(output, flags.outputFormat, flags.rejects, flags.rejectsFormat),
    period: flags.period,
    outputFormat: flags.outputFormat,
    outputTable: flags.outputTable,
    rejects: flags.rejects,
    rejectsFormat: flags.rejectsFormat,
    rejectsTable: flags.rejectsTable,
    batchSize: flags.batchSize,
    maxErrors: flags.maxErrors,
    progress: flags.progress,
  };
}

/** The flags that say what rows are read, as `score batch` and `score profile` take them. */
export interface InputFlags {
  input?: string;
  query?: string;
  table?: string;
  timeColumn?: string;
  param?: [string, string][];
  inputFormat?: string;
}

/** What the input flags resolve to: where the rows come from, and how a source opens them. */
export interface InputPlan {
  /** A file, `-`, or a Postgres URL ({@linkcode POSTGRES_FROM_ENV} for DATABASE_URL / PG*). */
  input: string;
  pgInput: boolean;
  /** `--input` when it names a file, for `checkDistinctFiles`. */
  files: FileFlag[];
  params: string[];
  inputFormat?: string;
  query?: string;
  table?: string;
  timeColumn?: string;
}

/**
 * Resolves and checks the input flags: an input is required (a Postgres one left out is DATABASE_URL / PG* when
 * `--query` or `--table` is given), a Postgres input needs exactly one of `--query` and `--table`, which need it.
 * `score batch` and `score profile` read their rows by this one plan.
 *
 * @example
 * ```ts
 * planInput({ query: "select * from rides" }); // { input: "postgres:", pgInput: true, files: [], params: [], ... }
 * ```
 */
export function planInput(flags: InputFlags): InputPlan {
  const pgSource = flags.query !== undefined || flags.table !== undefined;
  const input = flags.input ?? (pgSource ? POSTGRES_FROM_ENV : undefined);
  if (input === undefined) {
    throw new UsageError("--input is required (a file, or postgres://... with --query or --table)");
  }
  const pgInput = isPostgresUrl(input) && flags.inputFormat === undefined;
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
  return {
    input,
    pgInput,
    files: fileFlags([["--input", pgInput ? undefined : input]]),
    params: (flags.param ?? []).map(([, value]) => value),
    inputFormat: flags.inputFormat,
    query: flags.query,
    table: flags.table,
    timeColumn: flags.timeColumn,
  };
}

/**
 * The options that choose a job's windows (`--period`, `--at`, `--backfill`, `--from`, `--to`): `score batch`'s, and
 * `score merge-drift`'s, which merges the windows a sharded batch scored.
 *
 * @example
 * ```ts
 * cmd.addOptions([...inputOptions, ...windowOptions("merge")]);
 * ```
 */
export function windowOptions(verb = "score"): Option[] {
  return [
    envOption("--period <period>", `${verb} the previous whole period before --at, [start, end) in UTC`, {
      env: "SCORE_PERIOD",
      choices: PERIODS,
    }),
    envOption("--at <timestamp>", "with --period: the run's time (ISO 8601, a date, or now; no zone = UTC)", {
      env: "SCORE_AT",
      default: "now",
    }),
    envOption(
      "--backfill",
      `with --period, --from and --to: ${verb} every period in [from, to) in order, one transaction each`,
      {
        env: "SCORE_BACKFILL",
      },
    ),
    envOption("--from <timestamp>", "backfill start (the period containing it is the first)", { env: "SCORE_FROM" }),
    envOption("--to <timestamp>", "backfill end (exclusive)", { env: "SCORE_TO" }),
  ];
}

/** The flags that choose a job's windows. */
export interface WindowFlags {
  period?: Period;
  at?: string;
  backfill?: boolean;
  from?: string;
  to?: string;
}

/**
 * The windows the flags choose: the previous whole period before `--at` with `--period`, each period of
 * [`--from`, `--to`) with `--backfill`, else one run without a window. With `--backfill`, each of `outputs` (a path and
 * its flag) that is a file needs `{window}` in its name, or each period would overwrite the last.
 *
 * @example
 * ```ts
 * planWindows({ period: "day", at: "2021-02-02T10:00:00Z" }, []); // [{ start: 2021-02-01, end: 2021-02-02 }]
 * ```
 */
export function planWindows(
  flags: WindowFlags,
  outputs: readonly (readonly [path: string | undefined, flag: string])[],
): (Window | undefined)[] {
  if (flags.backfill) {
    if (!flags.period || flags.from === undefined || flags.to === undefined) {
      throw new UsageError("--backfill needs --period, --from and --to");
    }
    for (const [path, flag] of outputs) {
      if (path !== undefined && !isPostgresUrl(path) && path !== "-" && !path.includes("{window}")) {
        throw new UsageError(
          `With --backfill, a file ${flag} needs {window} in its name (e.g. out/{window}.parquet), or each period would overwrite the last`,
        );
      }
    }
    return backfillWindows(flags.period, parseTimestamp(flags.from, "--from"), parseTimestamp(flags.to, "--to"));
  }
  if (flags.from !== undefined || flags.to !== undefined) throw new UsageError("--from and --to go with --backfill");
  if (flags.period) return [periodWindow(flags.period, parseTimestamp(flags.at ?? "now", "--at"))];
  return [undefined];
}

/**
 * Refuses, before anything opens, two flags naming one file in any window (`{window}` replaced by each window's
 * label): the same-file check of every command that reads and writes files.
 *
 * @example
 * ```ts
 * await checkWindowFiles({ period: "day", windows }, [{ flag: "--input", path: "in.csv" }, { flag: "--output", path: "out/{window}.csv" }]);
 * ```
 */
export async function checkWindowFiles(
  plan: Pick<BatchPlan, "period" | "windows">,
  files: readonly FileFlag[],
): Promise<void> {
  // Loaded here, not with the flag table: its node:path would start Deno's Node compatibility for `--help`.
  const { checkDistinctFiles } = await lazyImport<typeof CheckDistinctFiles>(
    new URL("../cli/check_distinct_files.ts", import.meta.url),
  );
  for (const window of plan.windows) {
    checkDistinctFiles(files.map((f) => ({ ...f, path: windowPath(plan, window, f.path) })));
  }
}

/** The flags that name files: not unset, not `-`. */
function fileFlags(flags: readonly (readonly [flag: string, path: string | undefined])[]): FileFlag[] {
  return flags.filter(([, path]) => path !== undefined && path !== "-").map(([flag, path]) => ({ flag, path: path! }));
}

/**
 * A path of the plan as a window's job opens it: `{window}` replaced by the window's label.
 *
 * @example
 * ```ts
 * windowPath(plan, window, "out/{window}.csv"); // "out/2021-02-01.csv" with --period day
 * ```
 */
export function windowPath(plan: Pick<BatchPlan, "period">, window: Window | undefined, path: string): string {
  const label = window && plan.period ? windowLabel(plan.period, window) : "";
  return path.replaceAll("{window}", label);
}

/** Whether the output and the rejects are tables of one Postgres database (same host, port, database and user). */
function sameDatabase(output: string, outputFormat?: string, rejects?: string, rejectsFormat?: string): boolean {
  if (!isPostgresUrl(output) || outputFormat !== undefined) return false;
  if (!isPostgresUrl(rejects) || rejectsFormat !== undefined) return false;
  return resolveTarget(output).description === resolveTarget(rejects).description;
}

/** What a rerun into a Postgres table replaces. */
export type ReplaceMode = "window" | "version" | "none";
export const REPLACE_MODES: ReplaceMode[] = ["window", "version", "none"];

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

/**
 * Inputs up to this size are scored on the job's thread: a local file this small holds a few thousand rows at most
 * (about a thousand rides as CSV), which even the random forest scores in less time than starting a worker and
 * loading the model a second time there takes.
 */
export const SMALL_INPUT_BYTES = 64 << 10;

/**
 * Where the model runs for this plan: on the job's thread for a small local file (see
 * {@linkcode SMALL_INPUT_BYTES}), else as `plan.worker` says.
 *
 * @example
 * ```ts
 * await modelWorker(planBatch({ input: "one_ride.csv", output: "out.csv", ... })); // false
 * ```
 */
export async function modelWorker(plan: Pick<BatchPlan, "input" | "pgInput" | "worker">): Promise<boolean | "auto"> {
  return (await smallInput(plan.input, plan.pgInput)) ? false : plan.worker;
}

/**
 * Whether `input` is a local file of at most {@linkcode SMALL_INPUT_BYTES}; undefined when its size cannot be told
 * (Postgres, standard input, no such file).
 *
 * @example
 * ```ts
 * await smallInput("data/green_tripdata_2021-02.parquet", false); // false
 * ```
 */
export async function smallInput(input: string, pgInput: boolean): Promise<boolean | undefined> {
  if (pgInput || input === "-") return undefined;
  const size = await Deno.stat(input).then((s) => (s.isFile ? s.size : undefined), () => undefined);
  return size === undefined ? undefined : size <= SMALL_INPUT_BYTES;
}

/**
 * Refuses two flags that both name standard output (`-`): one stream would hold two tables under two headers, and a
 * reader could not tell a row of one from a row of the other.
 *
 * @example
 * ```ts
 * checkOneStdout([["--output", "-"], ["--rejects", "-"]]);
 * // throws UsageError: --rejects - would share standard output with --output -; give --rejects a file
 * ```
 */
export function checkOneStdout(flags: readonly (readonly [flag: string, path: string | undefined])[]): void {
  const stdout = flags.filter(([, path]) => path === "-").map(([flag]) => flag);
  if (stdout.length > 1) {
    throw new UsageError(
      `${stdout[1]} - would share standard output with ${stdout[0]} -; give ${stdout[1]} a file`,
    );
  }
}
