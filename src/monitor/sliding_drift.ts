/**
 * Drift over a sliding window of time, for a service: rows are folded as
 * they come into a profile per period (a few sketch inserts, and nothing
 * kept: rows held for a later fold lived long enough to burden the garbage
 * collector, and folding them at once held the event loop); at each tick
 * the window, the last periods merged, is compared with the reference.
 */
import { DEFAULT_THRESHOLDS, type DriftThresholds } from "./column_drift.ts";
import type { ColumnDriftRow, DatasetProfile } from "./dataset_profile.ts";

/** How the window slides. */
export interface SlidingDriftOptions {
  /** The window's length. */
  windowMs: number;
  /** How often the window moves (and drift is computed): the length of one profile of the window. */
  periodMs: number;
  thresholds?: DriftThresholds;
  /** Called with each batch's outputs as they are folded (a prediction histogram). */
  onOutputs?: (outputs: Record<string, ArrayLike<unknown>>) => void;
}

/**
 * A reference's drift over the last `windowMs`.
 *
 * @example
 * ```ts
 * const drift = new SlidingDrift(reference, { windowMs: 3_600_000, periodMs: 60_000 });
 * drift.observe({ trip_distance: [3.2] }, 1, { duration: [12.5] }); // folded into this period's profile
 * setInterval(() => drift.tick(), 60_000); // the window slides, and its drift is computed
 * ```
 */
export class SlidingDrift {
  #buckets: { start: number; profile: DatasetProfile }[];
  #latest: ColumnDriftRow[];
  #windowRows = 0;

  constructor(readonly reference: DatasetProfile, readonly options: SlidingDriftOptions, now = Date.now()) {
    if (!(options.periodMs > 0) || !(options.windowMs >= options.periodMs)) {
      throw new RangeError("the window must hold at least one period, and a period must be positive");
    }
    this.#buckets = [{ start: now, profile: reference.emptyLike() }];
    this.#latest = reference.drift(reference.emptyLike(), options.thresholds ?? DEFAULT_THRESHOLDS);
  }

  /** Folds a scored batch into this period's profile (inputs under the reference's names; outputs of the rows scored). */
  observe(
    inputs: Record<string, ArrayLike<unknown>>,
    length: number,
    outputs: Record<string, ArrayLike<unknown>>,
  ): void {
    this.#buckets[this.#buckets.length - 1].profile.fold(inputs, length, outputs);
    this.options.onOutputs?.(outputs);
  }

  /** Slides the window to `now` and computes its drift. */
  tick(now = Date.now()): ColumnDriftRow[] {
    let current = this.#buckets[this.#buckets.length - 1];
    if (now - current.start >= this.options.periodMs) {
      current = { start: now, profile: this.reference.emptyLike() };
      this.#buckets.push(current);
    }
    // A period counts while any of it is inside the window.
    this.#buckets = this.#buckets.filter((b) =>
      b === current || b.start + this.options.periodMs > now - this.options.windowMs
    );
    const window = this.reference.emptyLike();
    for (const b of this.#buckets) window.merge(b.profile);
    this.#windowRows = window.rows;
    this.#latest = this.reference.drift(window, this.options.thresholds ?? DEFAULT_THRESHOLDS);
    return this.#latest;
  }

  /** The drift as of the last tick (every column without values before the first). */
  get latest(): readonly ColumnDriftRow[] {
    return this.#latest;
  }

  /** Rows in the window as of the last tick. */
  get windowRows(): number {
    return this.#windowRows;
  }
}
