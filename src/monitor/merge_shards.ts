/**
 * A window's profile from its shards' drift rows: each shard of a sharded
 * job writes one row per column with the column's profile of its share of
 * the window; merged, they are the profile of the whole window (the
 * sketches and counts merge without losing anything more).
 */
import type { CategoricalProfileJson } from "./categorical_profile.ts";
import { type ColumnRole, DatasetProfile, PROFILE_FORMAT } from "./dataset_profile.ts";
import type { NumericProfileJson } from "./numeric_profile.ts";

/** What a shard's drift row says of its column (the other fields are its statistics, recomputed whole). */
export interface ShardColumnRow {
  /** `K/N`: shard K of N. */
  shard: string;
  column_name: string;
  /** The column's profile in the shard's share of the window, as the row's `profile` holds it. */
  profile: (NumericProfileJson | CategoricalProfileJson) & { role?: ColumnRole };
}

/**
 * Merges the rows of every shard of one window and model version into the window's profile, over the reference's
 * columns. Every shard 1..N of one N must be there, each with one row per column of the reference (of the
 * reference's kind): else a RangeError says which shard or column is missing or extra, so a merge never passes a
 * share of a window off as the whole.
 *
 * @example
 * ```ts
 * const whole = mergeShards(reference, "9bceaa0ed43a", rows); // rows of shards 1/2 and 2/2
 * reference.drift(whole);
 * ```
 */
export function mergeShards(
  reference: DatasetProfile,
  version: string,
  rows: readonly ShardColumnRow[],
): DatasetProfile {
  const model = { name: reference.model.name, version };
  const byShard = new Map<number, ShardColumnRow[]>();
  let count: number | undefined;
  for (const row of rows) {
    const [index, of] = parseShardLabel(row.shard);
    if (count !== undefined && of !== count) {
      throw new RangeError(`rows of shards of ${count} and of ${of} (shard ${row.shard}): delete the stale ones`);
    }
    count = of;
    byShard.set(index, [...byShard.get(index) ?? [], row]);
  }
  if (count === undefined) throw new RangeError("no shard rows");
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((k) => !byShard.has(k));
  if (missing.length > 0) {
    throw new RangeError(
      `shard ${missing.map((k) => `${k}/${count}`).join(", ")} missing (found ${
        [...byShard.keys()].sort((a, b) => a - b).map((k) => `${k}/${count}`).join(", ")
      }): run it first`,
    );
  }
  const whole = new DatasetProfile(model, reference.specs);
  for (let k = 1; k <= count; k++) {
    const mine = byShard.get(k)!;
    const columns = reference.specs.map((spec) => {
      const found = mine.filter((r) => r.column_name === spec.name);
      if (found.length !== 1) {
        throw new RangeError(`shard ${k}/${count} has ${found.length} rows of column "${spec.name}", not one`);
      }
      const profile = found[0].profile;
      if (profile?.kind !== spec.kind) {
        throw new RangeError(`shard ${k}/${count}: column "${spec.name}" is ${profile?.kind} there, ${spec.kind} here`);
      }
      return { ...profile, name: spec.name, role: spec.role };
    });
    const extra = mine.find((r) => !reference.columns.has(r.column_name));
    if (extra) throw new RangeError(`shard ${k}/${count} has a column "${extra.column_name}" the reference has not`);
    const input = columns.find((c) => c.role === "input");
    // A window's rows are its rows read: an input column's.
    const part = DatasetProfile.fromJSON({
      format: PROFILE_FORMAT,
      model,
      created_at: "",
      rows: input?.rows ?? 0,
      columns,
    });
    whole.merge(part);
  }
  return whole;
}

/** `K/N` as [K, N]. */
function parseShardLabel(label: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(String(label));
  const [k, n] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(k >= 1 && k <= n)) throw new RangeError(`shard "${label}" is not K/N with 1 <= K <= N`);
  return [k, n];
}
