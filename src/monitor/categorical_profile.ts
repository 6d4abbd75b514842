/**
 * What drift needs of a categorical column, folded in one pass in bounded
 * memory and mergeable: rows, missing values, and the count of each
 * category, up to a cap; values past the cap are counted together as
 * "other".
 */

/** Whole numbers below this are counted in an array, not a map. */
const DENSE = 4096;

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
  /** Counts of the whole numbers below DENSE, by value, and how many are not 0. */
  #dense: Float64Array | undefined;
  #denseSize = 0;

  constructor(readonly maxCategories = MAX_CATEGORIES) {}

  get values(): number {
    return this.rows - this.missing;
  }

  /** Folds a column of `values.length` rows in. */
  fold(values: ArrayLike<unknown>): void {
    const n = values.length;
    if (values instanceof BigInt64Array) {
      // Read as 32-bit halves: a small id then costs no bigint (little-endian: the low half first).
      const halves = new Int32Array(values.buffer, values.byteOffset, n * 2);
      for (let i = 0; i < n; i++) {
        const low = halves[2 * i];
        if (halves[2 * i + 1] === 0 && low >= 0 && low < DENSE) this.#countSmall(low);
        else this.#count(Number(values[i]));
      }
    } else if (values instanceof Float64Array || values instanceof Float32Array || values instanceof Int32Array) {
      let missing = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v !== v) missing++;
        else if (v >= 0 && v < DENSE && (v | 0) === v) this.#countSmall(v);
        else this.#count(v);
      }
      this.missing += missing;
    } else {
      let missing = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null || v === undefined || v !== v || v === "") missing++;
        else this.#count(v);
      }
      this.missing += missing;
    }
    this.rows += n;
  }

  /** Counts a whole number in [0, DENSE) in an array, the common case of ids, with no hashing. */
  #countSmall(v: number): void {
    let dense = this.#dense;
    if (dense === undefined) dense = this.#dense = new Float64Array(DENSE);
    if (dense[v] === 0 && this.#raw.size + this.#denseSize >= this.maxCategories) {
      this.other++;
      return;
    }
    if (dense[v]++ === 0) this.#denseSize++;
  }

  #count(v: unknown): void {
    const count = this.#raw.get(v);
    if (count !== undefined) this.#raw.set(v, count + 1);
    else if (this.#raw.size + this.#denseSize < this.maxCategories) this.#raw.set(v, 1);
    else this.other++;
  }

  /** The counts by category name. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    if (this.#dense !== undefined) {
      for (let v = 0; v < DENSE; v++) if (this.#dense[v] > 0) out.set(String(v), this.#dense[v]);
      this.#dense = undefined;
      this.#denseSize = 0;
    }
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
