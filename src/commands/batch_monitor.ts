/**
 * `score batch --monitor`: each window's inputs and predictions folded into
 * a profile as the pipeline scores them, compared with the reference at the
 * window's end, and the drift rows written (a file or a Postgres table,
 * replaced per window and model version as the predictions are) with an
 * HTML report.
 */
import type { Window } from "../batch/period_window.ts";
import { UsageError } from "../errors.ts";
import { log } from "../log.ts";
import type { Model, Prediction } from "../model/mod.ts";
import { type ColumnDriftRow, DatasetProfile, type DatasetProfileJson, renderDriftReport } from "../monitor/mod.ts";
import type { Shard } from "../postgres/mod.ts";
import type { ColumnInfo, RowBatch } from "../rows.ts";
import { createSink, writeWhole } from "../sinks/mod.ts";
import { foldScored, monitorColumns } from "./monitor_columns.ts";
import type { MonitorPlan } from "./monitor_plan.ts";

/** The columns of a drift row, as files and tables get them. */
export const DRIFT_COLUMNS: ColumnInfo[] = [
  { name: "model_name", type: "string" },
  { name: "model_version", type: "string" },
  { name: "window_start", type: "timestamptz" },
  { name: "window_end", type: "timestamptz" },
  { name: "shard", type: "string" },
  { name: "column_name", type: "string" },
  { name: "role", type: "string" },
  { name: "kind", type: "string" },
  { name: "row_count", type: "int64" },
  { name: "value_count", type: "int64" },
  { name: "missing_share", type: "float64" },
  { name: "reference_missing_share", type: "float64" },
  { name: "method", type: "string" },
  { name: "threshold", type: "float64" },
  { name: "score", type: "float64" },
  { name: "drifted", type: "bool" },
  { name: "wasserstein_normed", type: "float64" },
  { name: "ks_statistic", type: "float64" },
  { name: "ks_p_value", type: "float64" },
  { name: "jensen_shannon", type: "float64" },
  { name: "chi_squared", type: "float64" },
  { name: "chi_squared_p_value", type: "float64" },
  { name: "mean", type: "float64" },
  { name: "reference_mean", type: "float64" },
  { name: "reference_version", type: "string" },
  { name: "profile", type: "json" },
  { name: "scored_at", type: "timestamptz" },
];

/** The model a window's drift rows name. */
export type ModelVersion = Pick<Model, "name" | "version">;

/** One window's monitor: the pipeline's observer, then `finish` once the window's predictions are committed. */
export interface WindowMonitor {
  onScored(batch: RowBatch, prediction: Prediction): void;
  finish(): Promise<ColumnDriftRow[]>;
}

/**
 * Reads a reference profile and checks it against the model (given a list, the one of the profile's model name):
 * every column it profiles must be one the model reads or writes. A reference of another model version is used,
 * with a warning.
 *
 * @example
 * ```ts
 * const reference = await loadReference("reference.json", model);
 * ```
 */
export async function loadReference(
  path: string,
  models: Model | readonly Model[],
  flag = "--monitor",
): Promise<DatasetProfile> {
  const reference = await readReference(path, flag);
  const model = Array.isArray(models) ? models.find((m) => m.name === reference.model.name) : models as Model;
  if (model === undefined) {
    throw new UsageError(
      `${flag} "${path}" profiles model "${reference.model.name}", which is not served (models: ${
        (models as Model[]).map((m) => `"${m.name}"`).join(", ")
      })`,
    );
  }
  const columns = monitorColumns(model, reference.specs.filter((s) => s.kind === "categorical").map((s) => s.name));
  for (const spec of reference.specs) {
    const mine = columns.find((c) => c.name === spec.name);
    if (!mine || mine.role !== spec.role) {
      throw new UsageError(
        `${flag} "${path}" profiles ${spec.role} column "${spec.name}", which model "${model.name}" does not have ` +
          `(its columns: ${columns.map((c) => `"${c.name}"`).join(", ")}): profile a reference with this model`,
      );
    }
  }
  if (reference.model.name !== model.name || reference.model.version !== model.version) {
    log.warn("the reference was profiled with another model (or version): its predictions may differ for that", {
      reference_model: reference.model.name,
      reference_version: reference.model.version,
      model: model.name,
      version: model.version,
    });
  }
  return reference;
}

/**
 * Reads a reference profile (`score profile`'s output), naming `flag` and the file when it cannot be read or is not
 * a profile (exit 64).
 *
 * @example
 * ```ts
 * const reference = await readReference("reference.json");
 * ```
 */
export async function readReference(path: string, flag = "--monitor"): Promise<DatasetProfile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new UsageError(
      `Cannot read ${flag} "${path}": ${err instanceof Deno.errors.NotFound ? "no such file" : err}`,
    );
  }
  let reference: DatasetProfile;
  try {
    reference = DatasetProfile.fromJSON(JSON.parse(text) as DatasetProfileJson);
  } catch (err) {
    throw new UsageError(`${flag} "${path}" is not a profile from score profile: ${(err as Error).message}`);
  }
  return reference;
}

/**
 * Starts one window's monitor. `named` puts the window's label into paths that hold `{window}`.
 *
 * @example
 * ```ts
 * const monitor = monitorWindow(plan, reference, model, window, shard, named);
 * await runBatch({ ...job, onScored: monitor.onScored });
 * await monitor.finish();
 * ```
 */
export function monitorWindow(
  plan: MonitorPlan,
  reference: DatasetProfile,
  model: Model,
  window: Window | undefined,
  shard: Shard | undefined,
  named: (path: string) => string,
): WindowMonitor {
  const current = reference.emptyLike();
  return {
    onScored: foldScored(model, () => current),
    finish: () => publishDrift(plan, reference, current, model, window, shard, named),
  };
}

/**
 * Compares a window's profile (a job's, or its shards' merged) with the reference, logs the verdict, and writes
 * the drift rows and the report where `plan` says; `named` puts the window's label into paths that hold `{window}`.
 *
 * @example
 * ```ts
 * const drift = await publishDrift(plan, reference, current, model, window, undefined, named);
 * ```
 */
export async function publishDrift(
  plan: MonitorPlan,
  reference: DatasetProfile,
  current: DatasetProfile,
  model: ModelVersion,
  window: Window | undefined,
  shard: Shard | undefined,
  named: (path: string) => string,
): Promise<ColumnDriftRow[]> {
  const drift = reference.drift(current);
  const where = window ? { window_start: window.start.toISOString(), window_end: window.end.toISOString() } : {};
  const inputs = drift.filter((d) => d.role === "input");
  const prediction = drift.find((d) => d.role === "output");
  log.info("drift", {
    model: model.name,
    version: model.version,
    ...where,
    ...(shard ? { shard: `${shard.index}/${shard.count}` } : {}),
    rows: current.rows,
    drifted_columns: inputs.filter((d) => d.drifted).map((d) => d.column),
    prediction_drift: prediction?.score ?? null,
    prediction_drifted: prediction?.drifted ?? false,
    missing_share: meanOf(inputs.map((d) => d.missing_share)),
  });
  if (plan.output !== undefined) {
    await writeDrift(plan, named(plan.output), drift, current, model, reference, window, shard);
  }
  if (plan.report !== undefined) {
    const html = renderDriftReport({ model, window, shard, reference, current, drift });
    await writeWhole(named(plan.report), new TextEncoder().encode(html));
    log.info("drift report written", { report: named(plan.report), ...where });
  }
  return drift;
}

/** Writes the window's drift rows; a Postgres table's earlier rows of the same window, model version and shard go. */
async function writeDrift(
  plan: MonitorPlan,
  path: string,
  drift: ColumnDriftRow[],
  current: DatasetProfile,
  model: ModelVersion,
  reference: DatasetProfile,
  window: Window | undefined,
  shard: Shard | undefined,
): Promise<void> {
  const slice = {
    model_name: model.name,
    model_version: model.version,
    window_start: window?.start ?? null,
    window_end: window?.end ?? null,
    shard: shard ? `${shard.index}/${shard.count}` : null,
  };
  const sink = await createSink(path, undefined, {
    table: plan.table!,
    replace: {
      match: Object.entries(slice).map(([name, value]) => ({
        name,
        type: DRIFT_COLUMNS.find((c) => c.name === name)!.type,
        value,
      })),
    },
    labels: { table: "--monitor-table" },
  }, { target: "monitor output", format: "--monitor-output", table: "--monitor-table" });
  const profiles = current.toJSON().columns;
  const scoredAt = new Date();
  const rows = drift.map((d, i) => ({
    ...slice,
    ...d,
    column_name: d.column,
    row_count: BigInt(d.row_count),
    value_count: BigInt(d.value_count),
    reference_version: reference.model.version,
    profile: profiles[i],
    scored_at: scoredAt,
  }));
  const columns: Record<string, unknown[]> = {};
  for (const c of DRIFT_COLUMNS) columns[c.name] = rows.map((r) => (r as Record<string, unknown>)[c.name] ?? null);
  try {
    await sink.open(DRIFT_COLUMNS);
    await sink.write({ offset: 0, length: rows.length, columns });
    await sink.commit();
  } catch (err) {
    await sink.abort().catch(() => {});
    throw err;
  }
  log.info("drift written", { output: sink.description, rows: rows.length });
}

function meanOf(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : null;
}
