/**
 * What drift needs of a numeric column, folded in one pass in bounded
 * memory and mergeable: rows, missing values, exact mean and spread, min,
 * max, and a quantile sketch of the values.
 */
import { QuantileSketch, type QuantileSketchJson, SKETCH_K } from "./quantile_sketch.ts";

/** A numeric column's profile as JSON. */
export interface NumericProfileJson {
  kind: "numeric";
  rows: number;
  missing: number;
  mean: number | null;
  /** Population standard deviation (ddof 0, NumPy's `np.std`), the spread Wasserstein distances are divided by. */
  std: number | null;
  /** Sum of squared deviations from the mean, kept so profiles merge exactly. */
  m2: number;
  min: number | null;
  max: number | null;
  sketch: QuantileSketchJson;
}

/**
 * A numeric column's running profile. A value is missing when it is null, undefined, NaN, blank text or text
 * that is not a number.
 *
 * @example
 * ```ts
 * const p = new NumericProfile();
 * p.fold(new Float64Array([1, NaN, 3]));
 * p.toJSON(); // { kind: "numeric", rows: 3, missing: 1, mean: 2, std: 1, ... }
 * ```
 */
export class NumericProfile {
  readonly kind = "numeric";
  rows = 0;
  missing = 0;
  mean = 0;
  m2 = 0;
  min = Infinity;
  max = -Infinity;
  readonly sketch: QuantileSketch;
  #scratch = new Float64Array(0);

  constructor(k = SKETCH_K) {
    this.sketch = new QuantileSketch(k);
  }

  /** Values held (rows that are not missing). */
  get values(): number {
    return this.rows - this.missing;
  }

  /**
   * Folds a column of `values.length` rows in (a typed array in one tight loop). NaN and ±Infinity count as missing
   * (`v - v === 0` only for a finite v): an infinity has no place in a mean, a spread or a sketch that JSON can keep.
   */
  fold(values: ArrayLike<unknown>): void {
    const n = values.length;
    if (this.#scratch.length < n) this.#scratch = new Float64Array(Math.max(n, 1024));
    const xs = this.#scratch;
    let m = 0;
    if (values instanceof Float64Array || values instanceof Float32Array || values instanceof Int32Array) {
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v - v === 0) xs[m++] = v;
      }
    } else if (values instanceof BigInt64Array) {
      for (let i = 0; i < n; i++) xs[m++] = Number(values[i]);
    } else if (ArrayBuffer.isView(values)) {
      const typed = values as unknown as ArrayLike<number>;
      for (let i = 0; i < n; i++) {
        const v = Number(typed[i]);
        if (v - v === 0) xs[m++] = v;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const v = toNumber(values[i]);
        if (v - v === 0) xs[m++] = v;
      }
    }
    this.rows += n;
    this.missing += n - m;
    this.#add(xs, m);
  }

  /** Folds another profile of the same column in (another shard, another window). */
  merge(other: NumericProfile): void {
    const n1 = this.values;
    const n2 = other.values;
    if (n2 > 0) {
      const delta = other.mean - this.mean;
      const n = n1 + n2;
      this.mean += (delta * n2) / n;
      this.m2 += other.m2 + (delta * delta * n1 * n2) / n;
      if (other.min < this.min) this.min = other.min;
      if (other.max > this.max) this.max = other.max;
    }
    this.rows += other.rows;
    this.missing += other.missing;
    this.sketch.merge(other.sketch);
  }

  /** Population standard deviation, null without values. */
  get std(): number | null {
    return this.values > 0 ? Math.sqrt(this.m2 / this.values) : null;
  }

  toJSON(): NumericProfileJson {
    const has = this.values > 0;
    return {
      kind: "numeric",
      rows: this.rows,
      missing: this.missing,
      mean: has ? this.mean : null,
      std: this.std,
      m2: this.m2,
      min: has ? this.min : null,
      max: has ? this.max : null,
      sketch: this.sketch.toJSON(),
    };
  }

  static fromJSON(json: NumericProfileJson): NumericProfile {
    if (typeof json.m2 !== "number" || !Number.isFinite(json.m2)) throw new RangeError("its m2 is not a finite number");
    const p = new NumericProfile(json.sketch?.k ?? SKETCH_K);
    p.rows = json.rows;
    p.missing = json.missing;
    p.mean = json.mean ?? 0;
    p.m2 = json.m2;
    p.min = json.min ?? Infinity;
    p.max = json.max ?? -Infinity;
    p.sketch.merge(QuantileSketch.fromJSON(json.sketch));
    if (p.sketch.n !== p.values) throw new RangeError(`its sketch holds ${p.sketch.n} values, not ${p.values}`);
    return p;
  }

  /** Adds m values: their mean and spread first (about their own mean, so no precision is lost), then merged in. */
  #add(xs: Float64Array, m: number): void {
    if (m === 0) return;
    let sum = 0;
    let min = this.min;
    let max = this.max;
    for (let i = 0; i < m; i++) {
      const v = xs[i];
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mean = sum / m;
    let m2 = 0;
    for (let i = 0; i < m; i++) m2 += (xs[i] - mean) ** 2;
    // The counts already include these m values.
    const before = this.values - m;
    const delta = mean - this.mean;
    const n = before + m;
    this.mean += (delta * m) / n;
    this.m2 += m2 + (delta * delta * before * m) / n;
    this.min = min;
    this.max = max;
    this.sketch.addAll(xs, 0, m);
  }
}

/** A value as a number, NaN when it is missing or not one. */
function toNumber(v: unknown): number {
  switch (typeof v) {
    case "number":
      return v;
    case "bigint":
      return Number(v);
    case "boolean":
      return v ? 1 : 0;
    case "string":
      return v.trim() === "" ? NaN : Number(v);
    default:
      return NaN;
  }
}
