/**
 * Which of a model's columns a monitor watches, and how a scored batch is
 * folded into a profile of them: shared by `score profile` (the reference)
 * and `score batch --monitor` (each window).
 */
import { UsageError } from "../errors.ts";
import type { Model, Prediction } from "../model/mod.ts";
import { type ColumnSpec, type DatasetProfile, numberColumns, parsedNumbers } from "../monitor/mod.ts";
import type { RowBatch } from "../rows.ts";

/**
 * Every input column of the model (under its canonical name) and every output column. Text and boolean columns
 * are categorical, numbers numeric, unless `categorical` names them (ids such as a location, a numeric label).
 * Throws a usage error naming a `categorical` column the model has not.
 *
 * @example
 * ```ts
 * monitorColumns(model, ["PULocationID", "DOLocationID"]);
 * // [{ name: "PULocationID", role: "input", kind: "categorical" }, ..., { name: "duration", role: "output", kind: "numeric" }]
 * ```
 */
export function monitorColumns(
  model: Model,
  categorical: readonly string[] = [],
  flag = "--categorical",
): ColumnSpec[] {
  const named = new Set(categorical);
  const kind = (name: string, type: string) =>
    named.has(name) || type === "string" || type === "bool" ? "categorical" as const : "numeric" as const;
  const specs: ColumnSpec[] = [
    ...model.inputs.flatMap((input) =>
      input.columns.map((name) => ({ name, role: "input" as const, kind: kind(name, input.type) }))
    ),
    ...model.outputColumns.map(({ name, type }) => ({ name, role: "output" as const, kind: kind(name, type) })),
  ];
  const unknown = categorical.filter((c) => !specs.some((s) => s.name === c));
  if (unknown.length > 0) {
    throw new UsageError(
      `${flag}: model "${model.name}" has no column ${unknown.map((c) => `"${c}"`).join(", ")} ` +
        `(its columns: ${specs.map((s) => `"${s.name}"`).join(", ")})`,
    );
  }
  return specs;
}

/**
 * The pipeline's `onScored` observer that folds each batch into `profile()` (called per batch, so a job may swap
 * the profile between windows): the inputs of every row read, under their canonical names, and the outputs of
 * every row scored.
 *
 * @example
 * ```ts
 * await runBatch({ ...job, onScored: foldScored(model, () => profile) });
 * ```
 */
export function foldScored(
  model: Model,
  profile: () => DatasetProfile,
): (batch: RowBatch, prediction: Prediction) => void {
  const numbers = numberColumns(model.inputs);
  return (batch, prediction) => {
    profile().fold(parsedNumbers(model.canonicalColumns(batch.columns), numbers), batch.length, prediction.columns);
  };
}
