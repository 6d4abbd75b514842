/**
 * What drift needs of a categorical column, folded in one pass in bounded
 * memory and mergeable: rows, missing values, and the count of each
 * category, up to a cap; values past the cap are counted together as
 * "other".
 */

/** Most categories a profile counts one by one; beyond, new values count as "other". */
export const MAX_CATEGORIES = 1000;

/** A categorical column's profile as JSON: counts by category, largest first. */
export interface CategoricalProfileJson {
  kind: "categorical";
  rows: number;
  missing: number;
  /** [category, count] pairs, largest count first (a list: an object would put "10" before "74" whatever counts). */
  counts: [string, number][];
  /** Values of categories past the cap, counted together. */
  other: number;
}

/**
 * A categorical column's running profile. A value is missing when it is null, undefined, NaN or blank text; any
 * other value is a category named by its text (`10`, `"10"` and `10n` are one category, "10").
 *
 * @example
 * ```ts
 * const p = new CategoricalProfile();
 * p.fold(["a", "b", "a", null]);
 * p.toJSON(); // { kind: "categorical", rows: 4, missing: 1, counts: [["a", 2], ["b", 1]], other: 0 }
 * ```
 */
export class CategoricalProfile {
  readonly kind = "categorical";
  rows = 0;
  missing = 0;
  other = 0;
  /** Counts by the values as read (a number and its text apart); joined by name in `counts()`. */
  #raw = new Map<unknown, number>();

  constructor(readonly maxCategories = MAX_CATEGORIES) {}

  get values(): number {
    return this.rows - this.missing;
  }

  /** Folds a column of `values.length` rows in. */
  fold(values: ArrayLike<unknown>): void {
    const n = values.length;
    const raw = this.#raw;
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === null || v === undefined || v !== v || v === "") {
        missing++;
        continue;
      }
      const count = raw.get(v);
      if (count !== undefined) raw.set(v, count + 1);
      else if (raw.size < this.maxCategories) raw.set(v, 1);
      else this.other++;
    }
    this.rows += n;
    this.missing += missing;
  }

  /** The counts by category name. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [v, c] of this.#raw) {
      const name = categoryName(v);
      out.set(name, (out.get(name) ?? 0) + c);
    }
    this.#raw = new Map(out);
    return out;
  }

  /** Folds another profile of the same column in. */
  merge(other: CategoricalProfile): void {
    this.rows += other.rows;
    this.missing += other.missing;
    this.other += other.other;
    const mine = this.counts();
    for (const [name, c] of other.counts()) {
      const count = mine.get(name);
      if (count !== undefined) mine.set(name, count + c);
      else if (mine.size < this.maxCategories) mine.set(name, c);
      else this.other += c;
    }
    this.#raw = new Map(mine);
  }

  toJSON(): CategoricalProfileJson {
    const counts = [...this.counts()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return { kind: "categorical", rows: this.rows, missing: this.missing, counts, other: this.other };
  }

  static fromJSON(json: CategoricalProfileJson): CategoricalProfile {
    const p = new CategoricalProfile();
    p.rows = json.rows;
    p.missing = json.missing;
    p.other = json.other ?? 0;
    for (const [name, c] of json.counts ?? []) p.#raw.set(String(name), Number(c));
    return p;
  }
}

/** A category's name: its text; a whole number as its digits. */
function categoryName(v: unknown): string {
  if (typeof v === "string") return v;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
