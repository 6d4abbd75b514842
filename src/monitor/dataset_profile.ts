/**
 * A profile of every monitored column of a model's rows: its inputs and its
 * outputs. `score profile` writes one of a reference; `score batch
 * --monitor` folds one per window and compares it with the reference's.
 */
import { CategoricalProfile, type CategoricalProfileJson } from "./categorical_profile.ts";
import {
  type ColumnDrift,
  columnDrift,
  type ColumnProfile,
  DEFAULT_THRESHOLDS,
  type DriftThresholds,
} from "./column_drift.ts";
import { NumericProfile, type NumericProfileJson } from "./numeric_profile.ts";
import type { WeightedValues } from "./quantile_sketch.ts";

/** The format tag of a profile file: a reader refuses others. */
export const PROFILE_FORMAT = "score-profile/1";

/** Whether a column is one of the model's inputs or one of its outputs (a prediction). */
export type ColumnRole = "input" | "output";

/** What to profile of a column. */
export interface ColumnSpec {
  name: string;
  role: ColumnRole;
  kind: "numeric" | "categorical";
}

/** A profile file. */
export interface DatasetProfileJson {
  format: typeof PROFILE_FORMAT;
  model: { name: string; version: string };
  created_at: string;
  /** Rows read (inputs' rows); the outputs' rows are the rows scored. */
  rows: number;
  columns: ({ name: string; role: ColumnRole } & (NumericProfileJson | CategoricalProfileJson))[];
}

/** One column's drift in a window, with its name and role. */
export type ColumnDriftRow = { column: string; role: ColumnRole } & ColumnDrift;

/**
 * The running profile of a model's columns.
 *
 * @example
 * ```ts
 * const p = new DatasetProfile({ name: "m", version: "1" }, [{ name: "x", role: "input", kind: "numeric" }]);
 * p.fold({ x: new Float64Array([1, 2]) }, 2);
 * p.toJSON().columns[0].mean; // 1.5
 * ```
 */
export class DatasetProfile {
  rows = 0;
  readonly columns: ReadonlyMap<string, { spec: ColumnSpec; profile: ColumnProfile }>;
  #weighted = new Map<string, WeightedValues>();

  constructor(readonly model: { name: string; version: string }, readonly specs: readonly ColumnSpec[]) {
    this.columns = new Map(
      specs.map((spec) => [
        spec.name,
        { spec, profile: spec.kind === "numeric" ? new NumericProfile() : new CategoricalProfile() },
      ]),
    );
  }

  /**
   * Folds a batch in: `inputs` holds the input columns for all `length` rows read; `outputs` the output columns
   * for the rows scored. A column the profile does not name is ignored; a named one that is absent is skipped.
   */
  fold(inputs: Record<string, ArrayLike<unknown>>, length: number, outputs?: Record<string, ArrayLike<unknown>>): void {
    this.rows += length;
    for (const { spec, profile } of this.columns.values()) {
      const values = spec.role === "input" ? inputs[spec.name] : outputs?.[spec.name];
      if (values !== undefined) profile.fold(values);
    }
  }

  /** Folds a profile of the same columns in (another shard's or window's). */
  merge(other: DatasetProfile): void {
    this.rows += other.rows;
    for (const [name, { profile }] of this.columns) {
      const theirs = other.columns.get(name)?.profile;
      if (theirs instanceof NumericProfile && profile instanceof NumericProfile) profile.merge(theirs);
      else if (theirs instanceof CategoricalProfile && profile instanceof CategoricalProfile) profile.merge(theirs);
      else if (theirs) throw new RangeError(`column "${name}" is ${profile.kind} here and ${theirs.kind} there`);
    }
  }

  /** An empty profile of the same columns: a window's, to compare with this one. */
  emptyLike(): DatasetProfile {
    return new DatasetProfile(this.model, this.specs);
  }

  /** Each column's drift from this (the reference) to `current`, in the profile's column order. */
  drift(current: DatasetProfile, thresholds: DriftThresholds = DEFAULT_THRESHOLDS): ColumnDriftRow[] {
    return this.specs.map((spec) => {
      const reference = this.columns.get(spec.name)!.profile;
      const now = current.columns.get(spec.name)?.profile ?? this.#emptyOf(spec);
      let weighted = this.#weighted.get(spec.name);
      if (weighted === undefined && reference instanceof NumericProfile) {
        // The reference does not change: its distribution is sorted out once, not per window.
        this.#weighted.set(spec.name, weighted = reference.sketch.weighted());
      }
      return { column: spec.name, role: spec.role, ...columnDrift(reference, now, thresholds, weighted) };
    });
  }

  toJSON(): DatasetProfileJson {
    return {
      format: PROFILE_FORMAT,
      model: this.model,
      created_at: new Date().toISOString(),
      rows: this.rows,
      columns: this.specs.map((spec) => ({
        name: spec.name,
        role: spec.role,
        ...this.columns.get(spec.name)!.profile.toJSON(),
      })),
    };
  }

  /** A profile from its file's JSON; throws a RangeError saying what is wrong. */
  static fromJSON(json: DatasetProfileJson): DatasetProfile {
    if (json?.format !== PROFILE_FORMAT) {
      throw new RangeError(`not a score profile (its "format" is not "${PROFILE_FORMAT}")`);
    }
    if (!Array.isArray(json.columns)) throw new RangeError(`its "columns" is not a list`);
    const specs: ColumnSpec[] = json.columns.map((c) => {
      if (c.kind !== "numeric" && c.kind !== "categorical") {
        throw new RangeError(`column "${(c as { name: string }).name}": kind must be numeric or categorical`);
      }
      if (c.role !== "input" && c.role !== "output") {
        throw new RangeError(`column "${c.name}": role must be input or output`);
      }
      return { name: String(c.name), role: c.role, kind: c.kind };
    });
    const p = new DatasetProfile({ name: String(json.model?.name), version: String(json.model?.version) }, specs);
    p.rows = Number(json.rows);
    const columns = p.columns as Map<string, { spec: ColumnSpec; profile: ColumnProfile }>;
    for (const c of json.columns) {
      try {
        const profile = c.kind === "numeric" ? NumericProfile.fromJSON(c) : CategoricalProfile.fromJSON(c);
        columns.set(c.name, { spec: columns.get(c.name)!.spec, profile });
      } catch (err) {
        throw new RangeError(`column "${c.name}": ${(err as Error).message}`);
      }
    }
    return p;
  }

  #emptyOf(spec: ColumnSpec): ColumnProfile {
    return spec.kind === "numeric" ? new NumericProfile() : new CategoricalProfile();
  }
}
