/**
 * A mergeable quantile sketch over numbers in bounded memory: a stack of
 * compactors (Karnin, Lang and Liberty's KLL, 2016, with every level of the
 * same capacity k, as in Manku, Rajagopalan and Lindsay's 1998 sketch). Up to
 * k values it holds them all, so its answers are exact. Past k, a full level
 * is sorted and every other item (from a random first one) moves up a level,
 * where each item stands for twice as many values: memory stays below
 * k x log2(n / k) numbers and the total weight stays exactly n.
 *
 * Error: a rank (a CDF value) is off by at most (levels - 1) / k of n in the worst case; with random offsets
 * the errors are unbiased and their spread is about 1.4 / k of n, whatever n (k = 4096: ~0.03%).
 */
import { sortNumbers } from "./sort_numbers.ts";

/** What a sketch holds, as JSON: its levels' items (level h weighs 2^h), and the random state. */
export interface QuantileSketchJson {
  k: number;
  n: number;
  levels: number[][];
  state: number;
}

/** A distribution as distinct values, ascending, and the weight (count) of each. */
export interface WeightedValues {
  values: Float64Array;
  weights: Float64Array;
}

/** Default capacity of a level: the values held exactly, and ~1.4/k the typical rank error past them. */
export const SKETCH_K = 4096;

/**
 * A KLL-style quantile sketch.
 *
 * @example
 * ```ts
 * const s = new QuantileSketch();
 * s.addAll(new Float64Array([3, 1, 2]));
 * s.weighted(); // { values: Float64Array [1, 2, 3], weights: Float64Array [1, 1, 1] }
 * ```
 */
export class QuantileSketch {
  readonly k: number;
  /** Values added (the total weight). */
  n = 0;
  #levels: Float64Array[] = [];
  #sizes: number[] = [];
  #state: number;

  constructor(k = SKETCH_K, state = 0x9e3779b9) {
    if (!Number.isInteger(k) || k < 2 || k % 2 !== 0) throw new RangeError(`sketch capacity must be an even k >= 2`);
    this.k = k;
    this.#state = state >>> 0 || 1;
  }

  /** Adds one number (the caller leaves NaN out). */
  add(v: number): void {
    if (this.#levels.length === 0) this.#grow();
    const level = this.#levels[0];
    level[this.#sizes[0]++] = v;
    this.n++;
    if (this.#sizes[0] === this.k) this.#compact(0);
  }

  /** Adds `values[from..to)` (the caller leaves NaN out). */
  addAll(values: ArrayLike<number>, from = 0, to = values.length): void {
    if (this.#levels.length === 0) this.#grow();
    const k = this.k;
    let level = this.#levels[0];
    let size = this.#sizes[0];
    for (let i = from; i < to; i++) {
      level[size++] = values[i];
      if (size === k) {
        this.#sizes[0] = size;
        this.#compact(0);
        level = this.#levels[0];
        size = this.#sizes[0];
      }
    }
    this.#sizes[0] = size;
    this.n += to - from;
  }

  /** Folds another sketch of the same k in: the result sketches both inputs' values. */
  merge(other: QuantileSketch): void {
    if (other.k !== this.k) throw new RangeError(`cannot merge sketches of k ${this.k} and ${other.k}`);
    for (let h = 0; h < other.#levels.length; h++) {
      while (this.#levels.length <= h) this.#grow();
      const src = other.#levels[h].subarray(0, other.#sizes[h]);
      let at = 0;
      while (at < src.length) {
        const room = this.k - this.#sizes[h];
        const take = Math.min(room, src.length - at);
        this.#levels[h].set(src.subarray(at, at + take), this.#sizes[h]);
        this.#sizes[h] += take;
        at += take;
        if (this.#sizes[h] === this.k) this.#compact(h);
      }
    }
    this.n += other.n;
  }

  /**
   * Every item held with its weight, sorted by value (equal values merged): the sketch's estimate of the
   * distribution, exact while n <= k.
   */
  weighted(): WeightedValues {
    let total = 0;
    for (const s of this.#sizes) total += s;
    const order = new Float64Array(total);
    const weightOf = new Map<number, number>();
    let at = 0;
    for (let h = 0; h < this.#levels.length; h++) {
      const w = 2 ** h;
      const level = this.#levels[h];
      for (let i = 0; i < this.#sizes[h]; i++) {
        const v = level[i];
        const before = weightOf.get(v);
        if (before === undefined) order[at++] = v;
        weightOf.set(v, (before ?? 0) + w);
      }
    }
    const values = sortNumbers(order.slice(0, at));
    const weights = new Float64Array(values.length);
    for (let i = 0; i < values.length; i++) weights[i] = weightOf.get(values[i])!;
    return { values, weights };
  }

  toJSON(): QuantileSketchJson {
    return {
      k: this.k,
      n: this.n,
      levels: this.#levels.map((l, h) => Array.from(l.subarray(0, this.#sizes[h]))),
      state: this.#state,
    };
  }

  /** A sketch from its JSON; throws a RangeError naming what is wrong. */
  static fromJSON(json: QuantileSketchJson): QuantileSketch {
    if (typeof json !== "object" || json === null || !Array.isArray(json.levels)) {
      throw new RangeError("a sketch needs k, n and levels");
    }
    const s = new QuantileSketch(json.k, json.state);
    let weight = 0;
    json.levels.forEach((items, h) => {
      if (!Array.isArray(items) || items.length >= s.k) throw new RangeError(`sketch level ${h} is not a short list`);
      // A null (what JSON makes of an infinity) would be read as 0.
      if (!items.every((x) => typeof x === "number" && Number.isFinite(x))) {
        throw new RangeError(`sketch level ${h} holds a value that is not a finite number`);
      }
      s.#grow();
      s.#levels[h].set(items.map(Number));
      s.#sizes[h] = items.length;
      weight += items.length * 2 ** h;
    });
    if (weight !== json.n) throw new RangeError(`sketch holds a weight of ${weight}, not its n ${json.n}`);
    s.n = json.n;
    return s;
  }

  #grow(): void {
    // Room for k items and the k/2 a compaction below may add before this level compacts in turn.
    this.#levels.push(new Float64Array(this.k * 2));
    this.#sizes.push(0);
  }

  /** Halves a full level into the one above it; cascades while levels fill. */
  #compact(h: number): void {
    for (;;) {
      if (this.#levels.length === h + 1) this.#grow();
      const level = this.#levels[h];
      const size = this.#sizes[h];
      const sorted = sortNumbers(level, 0, size);
      // An even number of items is paired; an odd one out (the largest) stays here.
      const paired = size - (size % 2);
      const up = this.#levels[h + 1];
      let upSize = this.#sizes[h + 1];
      for (let i = this.#bit(); i < paired; i += 2) up[upSize++] = sorted[i];
      if (paired < size) level[0] = sorted[size - 1];
      this.#sizes[h] = size - paired;
      this.#sizes[h + 1] = upSize;
      if (upSize < this.k) return;
      h++;
    }
  }

  /** A random bit from a xorshift32 state: reproducible from a given start. */
  #bit(): number {
    let x = this.#state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state & 1;
  }
}
