/**
 * `score batch`'s monitoring flags (`--monitor` and its outputs), resolved
 * and checked before anything opens (pure, unit-tested).
 */
import type { FileFlag } from "../cli/check_distinct_files.ts";
import { envOption, type Option } from "../cli/env_option.ts";
import { wholeNumber } from "../cli/options.ts";
import { UsageError } from "../errors.ts";
import { isPostgresUrl } from "../postgres/postgres_url.ts";

/** The monitoring flags, as the command line gives them. */
export interface MonitorFlags {
  monitor?: string;
  monitorOutput?: string;
  monitorTable?: string;
  monitorReport?: string;
}

/** What the monitoring flags resolve to. */
export interface MonitorPlan {
  /** The reference profile file (`score profile`'s output). */
  profile: string;
  /** Where each window's drift rows go: a file, or a Postgres URL with `table`. */
  output?: string;
  table?: string;
  /** Where each window's HTML report goes. */
  report?: string;
  /** The flags that name files, for `checkDistinctFiles` beside the job's own: none may name another's file. */
  files: FileFlag[];
}

/**
 * The monitoring options of `score batch`.
 *
 * @example
 * ```ts
 * cmd.addOptions([...batchOptions, ...monitorOptions()]);
 * ```
 */
export function monitorOptions(): Option[] {
  return [
    envOption(
      "--monitor <profile.json>",
      "compare each window's inputs and predictions with this reference (score profile's output): drift per column",
      { env: "SCORE_MONITOR" },
    ),
    envOption(
      "--monitor-output <path|url>",
      "where each window's drift rows go: a .jsonl file, or postgres://... with --monitor-table (a rerun replaces the window's rows of the model version)",
      { env: "SCORE_MONITOR_OUTPUT" },
    ),
    envOption("--monitor-table <name>", "Postgres table of the drift rows, created when missing", {
      env: "SCORE_MONITOR_TABLE",
    }),
    envOption(
      "--monitor-report <path>",
      "an HTML drift report per window (self-contained: one plot per column, reference against window)",
      { env: "SCORE_MONITOR_REPORT" },
    ),
  ];
}

/**
 * Checks the monitoring flags: outputs need `--monitor`, a Postgres output its table, and with `--backfill` a
 * file needs `{window}` in its name (as `--output` does). Undefined without `--monitor`.
 *
 * @example
 * ```ts
 * planMonitor({ monitor: "ref.json", monitorOutput: "drift.jsonl" }, false);
 * // { profile: "ref.json", output: "drift.jsonl", table: undefined, report: undefined, files: [...] }
 * ```
 */
export function planMonitor(flags: MonitorFlags, backfill: boolean): MonitorPlan | undefined {
  const { monitor, monitorOutput, monitorTable, monitorReport } = flags;
  if (monitor === undefined) {
    const stray = ([["--monitor-output", monitorOutput], ["--monitor-table", monitorTable], [
      "--monitor-report",
      monitorReport,
    ]] as const).find(([, v]) => v !== undefined);
    if (stray) throw new UsageError(`${stray[0]} goes with --monitor PROFILE (a reference from score profile)`);
    return undefined;
  }
  const pg = isPostgresUrl(monitorOutput);
  if (pg && monitorTable === undefined) throw new UsageError("A Postgres --monitor-output needs --monitor-table NAME");
  if (!pg && monitorTable !== undefined) {
    throw new UsageError("--monitor-table goes with a Postgres --monitor-output (postgres://...)");
  }
  if (backfill) {
    for (
      const [path, flag] of [[pg ? undefined : monitorOutput, "--monitor-output"], [monitorReport, "--monitor-report"]]
    ) {
      if (path !== undefined && path !== "-" && !path.includes("{window}")) {
        throw new UsageError(
          `With --backfill, ${flag} needs {window} in its name (e.g. drift/{window}.jsonl), or each period would overwrite the last`,
        );
      }
    }
  }
  if (monitorReport === "-") throw new UsageError("--monitor-report writes a file: give its name (e.g. report.html)");
  const files = [
    { flag: "--monitor", path: monitor },
    { flag: "--monitor-output", path: pg ? undefined : monitorOutput },
    { flag: "--monitor-report", path: monitorReport },
  ].filter((f): f is FileFlag => f.path !== undefined && f.path !== "-");
  return { profile: monitor, output: monitorOutput, table: monitorTable, report: monitorReport, files };
}

/** The flags of {@linkcode serviceMonitorOptions}, as the command line gives them. */
export interface ServiceMonitorFlags {
  monitor?: string;
  monitorWindow: number;
  monitorPeriod: number;
}

/**
 * The monitoring options of a long-running command (`score serve`): a reference and a sliding window.
 *
 * @example
 * ```ts
 * cmd.addOptions([...serveOptions, ...serviceMonitorOptions()]);
 * ```
 */
export function serviceMonitorOptions(): Option[] {
  return [
    envOption(
      "--monitor <profile.json>",
      "export the drift of the reference's model from this reference (score profile's output) over a sliding window in /metrics",
      { env: "SCORE_MONITOR" },
    ),
    envOption("--monitor-window <seconds>", "the drift window's length", {
      env: "SCORE_MONITOR_WINDOW",
      parse: wholeNumber(1),
      default: 3600,
    }),
    envOption(
      "--monitor-period <seconds>",
      "how often the window moves and its drift is computed (off the request path)",
      {
        env: "SCORE_MONITOR_PERIOD",
        parse: wholeNumber(1),
        default: 60,
      },
    ),
  ];
}
