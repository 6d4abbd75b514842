/**
 * One window of a `score batch` job: the plan's source, sinks and shared
 * Postgres transaction opened, the pipeline run, the summary logged.
 */
import type { Window } from "../batch/period_window.ts";
import { type BatchSummary, type Constant, runBatch } from "../batch/run_batch.ts";
import { startProgress } from "../cli/progress.ts";
import { CannotWriteError, closedPipe } from "../errors.ts";
import { log } from "../log.ts";
import type { Model } from "../model/mod.ts";
import type * as PgTransactionModule from "../postgres/pg_transaction.ts";
import { lazyImport } from "../lazy_import.ts";
import { checkTarget, createSink, type Replace, type Sink, type SinkExpectations } from "../sinks/mod.ts";
import { openSource } from "../sources/mod.ts";
import { type BatchPlan, smallInput, windowPath } from "./batch_plan.ts";
import type * as BatchMonitor from "./batch_monitor.ts";
import type { MonitorPlan } from "./monitor_plan.ts";
import type { DatasetProfile } from "../monitor/mod.ts";

/** Reject lines logged when no `--rejects` is given, before the rest are only counted. */
const LOGGED_REJECTS = 20;

/**
 * Runs the plan's job for one window (or the whole input): opens the
 * source, the sinks and their shared transaction, runs the pipeline with
 * a progress display and logs its summary. With `monitor`, the window's
 * drift from the reference is measured as the rows pass and written once
 * its predictions are committed.
 *
 * @example
 * ```ts
 * for (const window of plan.windows) await runWindow(plan, model, window, interrupt.signal);
 * ```
 */
export async function runWindow(
  plan: BatchPlan,
  model: Model,
  window: Window | undefined,
  signal: AbortSignal,
  monitor?: { plan: MonitorPlan; reference: DatasetProfile },
): Promise<BatchSummary> {
  const { constants, match } = windowColumns(plan, model, window);
  const named = (path: string) => windowPath(plan, window, path);
  // The outputs are made first (nothing opened yet): one that loads a library (Parquet's DuckDB) starts it while the
  // source opens.
  const { sink, rejects } = await createSinks(
    plan,
    named,
    plan.replace === "none" ? undefined : { match, shard: plan.shard },
    { manyRows: (await smallInput(named(plan.input), plan.pgInput)) === false },
  );
  // An output that cannot be written fails now, naming its flag, before a row is read.
  await checkTarget(named(plan.output), plan.outputFormat, "--output");
  if (plan.rejects) await checkTarget(named(plan.rejects), plan.rejectsFormat, "--rejects");
  const source = await openSource(named(plan.input), plan.inputFormat, {
    query: plan.query,
    table: plan.table,
    timeColumn: plan.timeColumn,
    params: window ? [window.start.toISOString(), window.end.toISOString(), ...plan.params] : plan.params,
    shard: plan.shard,
    labels: {
      query: "--query",
      table: "--table",
      params:
        "(with --period: $1 window_start, $2 window_end, then each --param in order; without: each --param in order)",
    },
  }, "--input-format");
  const where = window ? { window_start: window.start.toISOString(), window_end: window.end.toISOString() } : {};
  log.info("batch started", {
    model: model.name,
    version: model.version,
    model_thread: model.inWorker ? "worker" : "main",
    input: source.description,
    output: sink.description,
    ...where,
  });
  const progress = plan.progress ? await startProgress("scoring", () => source.progress?.()) : undefined;
  // The monitor's code loads only with --monitor.
  const watch = monitor &&
    (await lazyImport<typeof BatchMonitor>(new URL("./batch_monitor.ts", import.meta.url)))
      .monitorWindow(monitor.plan, monitor.reference, model, window, plan.shard, named);
  let unlogged = 0;
  const summary = await runBatch({
    model,
    source,
    sink,
    rejects,
    keep: plan.keep,
    batchSize: plan.batchSize,
    constants,
    maxRejects: plan.maxErrors,
    signal,
    onProgress: (p) => progress?.update(p),
    onReject: (row, error) => {
      if (rejects) return;
      if (unlogged++ < LOGGED_REJECTS) log.warn("row rejected", { row, error });
    },
    onScored: watch?.onScored,
  }).catch((err) => {
    // A closed standard output ends a job as a normal end (main.ts) when it carried the predictions: their reader
    // has what it wanted. When it carried the rejects, the predictions were not committed: that is a failure.
    if (closedPipe(err) && plan.output !== "-") {
      throw new CannotWriteError(
        "Standard output (--rejects -) was closed by its reader before every reject was written: " +
          `nothing was committed to ${sink.description}`,
      );
    }
    throw err;
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
    ...(hasCategories(model) ? { unknown_categories: summary.unknownCategories } : {}),
    seconds: Math.round(summary.seconds * 1000) / 1000,
    rows_per_s: Math.round(summary.rowsPerSecond),
  });
  if (window && summary.read === 0) {
    // An empty window is most often a window or a query that does not select what the user meant.
    log.info(
      "the window had no rows: check its bounds against the data, and the query (or --table and --time-column) that selects it",
      {
        ...where,
        ...(plan.query ? { query: plan.query } : { table: plan.table, time_column: plan.timeColumn }),
      },
    );
  }
  await watch?.finish();
  return summary;
}

/** The columns every output row of the window carries, and those of them (with the model's) a rerun replaces by. */
function windowColumns(
  plan: BatchPlan,
  model: Model,
  window: Window | undefined,
): { constants: Constant[]; match: Constant[] } {
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
  const match: Constant[] = [
    { name: "model_name", type: "string", value: model.name },
    { name: "model_version", type: "string", value: model.version },
    ...constants.filter((c) => c.name !== "scored_at"),
  ];
  return { constants, match };
}

/** The output's sink, and the rejects' with --rejects; in one database, they share one transaction. */
async function createSinks(
  plan: BatchPlan,
  named: (path: string) => string,
  replace: Replace | undefined,
  expect: SinkExpectations,
): Promise<{ sink: Sink; rejects?: Sink }> {
  // Predictions and rejects in one database share one transaction: a window's new rows of both appear together.
  // The Postgres client's code loads only then: a file job loads none of it.
  const transaction = plan.sharedTransaction
    ? new (await lazyImport<typeof PgTransactionModule>(new URL("../postgres/pg_transaction.ts", import.meta.url)))
      .PgTransaction(named(plan.output))
    : undefined;
  const sink = await createSink(
    named(plan.output),
    plan.outputFormat,
    {
      table: plan.outputTable!,
      replace,
      transaction,
      labels: { table: "--output-table", keep: "--keep" },
    },
    { target: "output", format: "--output-format", table: "--output-table" },
    expect,
  );
  const rejects = plan.rejects
    ? await createSink(named(plan.rejects), plan.rejectsFormat, {
      table: plan.rejectsTable!,
      replace: replace && { ...replace, shardKeyIn: "data" },
      transaction,
      // A column mismatch names --output-table, as it always has for the rejects table too.
      labels: { table: "--output-table", keep: "--keep" },
    }, { target: "rejects target", format: "--rejects-format", table: "--rejects-table" })
    : undefined;
  return { sink, rejects };
}

/** Whether the model lists known categories for an input: only then does a summary count rows with unknown ones. */
export function hasCategories(model: Model): boolean {
  return model.inputs.some((i) => i.categories !== undefined);
}
