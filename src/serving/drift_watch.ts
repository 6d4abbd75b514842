/**
 * `score serve --monitor`: the served model's drift from a reference over
 * a sliding window, in `/metrics`. A request folds its columns into the
 * period's profile (a few sketch inserts); a timer slides the window and
 * computes the drift.
 */
import type { Model, Prediction } from "../model/mod.ts";
import { Histogram, type Registry, scrapedGauge } from "../metrics/mod.ts";
import { type DatasetProfile, numberColumns, NumericProfile, parsedNumbers, SlidingDrift } from "../monitor/mod.ts";

/** How the window slides. */
export interface DriftWatchOptions {
  windowSeconds: number;
  periodSeconds: number;
}

/** A running watch: the data plane's observer, and how to stop its timer. */
export interface DriftWatch {
  observe(model: Model, inputs: Record<string, ArrayLike<unknown>>, length: number, prediction: Prediction): void;
  /** Slides the window and computes its drift now (the timer does it every period). */
  tick(): void;
  stop(): void;
}

/**
 * Watches the reference's model (by name) and registers its metrics: `score_drift_score{model,column}` (the deciding
 * statistic: a distance, or a p-value), `score_drift_detected{model,column}` (1 or 0), `score_drift_window_rows{model}`,
 * and a histogram of each numeric output, `score_prediction{model,output}`,
 * whose buckets are the reference's deciles of it.
 *
 * @example
 * ```ts
 * const watch = watchDrift(reference, metrics.registry, { windowSeconds: 3600, periodSeconds: 60 });
 * const plane = new DataPlane(models, { observe: watch.observe });
 * ```
 */
export function watchDrift(reference: DatasetProfile, registry: Registry, options: DriftWatchOptions): DriftWatch {
  const name = reference.model.name;
  const outputs = reference.specs.filter((s) => s.role === "output" && s.kind === "numeric").map((s) => s.name);
  const histogram = outputs.length > 0
    ? new Histogram({
      name: "score_prediction",
      help: "Predictions of each numeric output; buckets at the reference's deciles.",
      labelNames: ["model", "output"],
      buckets: deciles(reference, outputs[0]),
      registers: [registry],
    })
    : undefined;
  const drift = new SlidingDrift(reference, {
    windowMs: options.windowSeconds * 1000,
    periodMs: options.periodSeconds * 1000,
    onOutputs: (columns) => {
      for (const output of outputs) {
        const values = columns[output];
        if (values === undefined || histogram === undefined) continue;
        const child = histogram.labels({ model: name, output });
        for (let i = 0; i < values.length; i++) {
          const v = Number(values[i]);
          if (v === v) child.observe(v);
        }
      }
    },
  });
  scrapedGauge(registry, {
    name: "score_drift_score",
    help:
      "Drift of each column over the window: the deciding statistic (normed Wasserstein or Jensen-Shannon distance: drift from 0.1; KS or chi-squared p-value: drift below 0.05); absent without values.",
    labelNames: ["model", "column"],
    read: () =>
      drift.latest.filter((d) => d.score !== null).map((d) => ({
        labels: { model: name, column: d.column },
        value: d.score!,
      })),
  });
  scrapedGauge(registry, {
    name: "score_drift_detected",
    help: "Whether each column drifted over the window (1) or not (0).",
    labelNames: ["model", "column"],
    read: () => drift.latest.map((d) => ({ labels: { model: name, column: d.column }, value: d.drifted ? 1 : 0 })),
  });
  scrapedGauge(registry, {
    name: "score_drift_window_rows",
    help: "Rows in the drift window as of its last computation.",
    labelNames: ["model"],
    read: () => [{ labels: { model: name }, value: drift.windowRows }],
  });
  const timer = setInterval(() => drift.tick(), options.periodSeconds * 1000);
  // The watch never keeps the process alive: a server that stops, stops.
  Deno.unrefTimer(timer);
  // Per model version (a reload brings a new one): the columns whose numeric texts are folded as numbers.
  const numbersOf = new WeakMap<Model, string[]>();
  return {
    observe(model, inputs, length, prediction) {
      if (model.name !== name) return;
      let numbers = numbersOf.get(model);
      if (numbers === undefined) numbersOf.set(model, numbers = numberColumns(model.inputs));
      drift.observe(parsedNumbers(model.canonicalColumns(inputs), numbers), length, prediction.columns);
    },
    tick: () => drift.tick(),
    stop: () => clearInterval(timer),
  };
}

/** The reference's deciles of a numeric column, ascending and distinct (prom-client's buckets). */
function deciles(reference: DatasetProfile, column: string): number[] {
  const profile = reference.columns.get(column)?.profile;
  if (!(profile instanceof NumericProfile) || profile.values === 0) return [0];
  const { values, weights } = profile.sketch.weighted();
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  let seen = 0;
  let q = 1;
  for (let i = 0; i < values.length && q < 10; i++) {
    seen += weights[i];
    while (q < 10 && seen >= (q / 10) * total) {
      if (out[out.length - 1] !== values[i]) out.push(values[i]);
      q++;
    }
  }
  return out.length > 0 ? out : [0];
}
