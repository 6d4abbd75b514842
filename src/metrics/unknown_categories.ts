/**
 * `score_unknown_categories_total{model,column}`: rows that carried a
 * category the model has never seen, by model and column. The counts live on
 * each loaded model (one Set lookup per value); this counter reads them at
 * each scrape, and carries over those of a model swapped out by a reload, so
 * the counter only ever grows.
 */
import { type Registry, scrapedCounter } from "./registry.ts";

/** What the counter reads of a model (`Model` has it). */
export interface CountsUnknownCategories {
  readonly name: string;
  unknownCategoryCounts(): { column: string; rows: number }[];
}

/**
 * Registers the counter over the models `models` gives at each scrape.
 *
 * @example
 * ```ts
 * unknownCategoriesCounter(metrics.registry, () => plane.models);
 * ```
 */
export function unknownCategoriesCounter(
  registry: Registry,
  models: () => readonly CountsUnknownCategories[],
): void {
  const retired = new Map<string, { model: string; column: string; rows: number }>();
  let seen: readonly CountsUnknownCategories[] = [];
  const add = (totals: typeof retired, m: CountsUnknownCategories) => {
    for (const { column, rows } of m.unknownCategoryCounts()) {
      const key = `${m.name}\0${column}`;
      const total = totals.get(key) ?? { model: m.name, column, rows: 0 };
      total.rows += rows;
      totals.set(key, total);
    }
  };
  scrapedCounter(registry, {
    name: "score_unknown_categories_total",
    help: "Rows that carried a category the model has never seen (scored as the model scores it, or rejected " +
      "with --strict-categories), by model and column.",
    labelNames: ["model", "column"],
    read: () => {
      const now = models();
      // A model gone since the last scrape was swapped out: what it counted until then stays counted.
      for (const m of seen) if (!now.includes(m)) add(retired, m);
      seen = [...now];
      const totals = new Map([...retired].map(([k, v]) => [k, { ...v }]));
      for (const m of now) add(totals, m);
      return [...totals.values()].map((t) => ({ labels: { model: t.model, column: t.column }, value: t.rows }));
    },
  });
}
