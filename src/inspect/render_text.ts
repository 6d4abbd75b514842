/**
 * `score inspect`'s text: aligned tables a person reads, then the lines to
 * copy (the requests and the CSV header) each alone on its line.
 */
import type { ModelDescription } from "./describe_model.ts";

/**
 * The description as text.
 *
 * @example
 * ```ts
 * console.log(renderText(describeModel(model, "http://localhost:9696")));
 * ```
 */
export function renderText(d: ModelDescription): string {
  const lines: string[] = [];
  lines.push(`model        ${d.name}`);
  lines.push(`version      ${d.version}`);
  lines.push(`path         ${d.path}`);
  if (d.description) lines.push(`description  ${d.description}`);
  lines.push(
    `batch        ${
      d.fixedBatch === null
        ? "any number of rows per run"
        : `fixed at ${d.fixedBatch}: rows run in runs of ${d.fixedBatch}`
    }`,
  );
  lines.push("", "inputs");
  lines.push(...table(
    ["name", "type", "shape", "columns"],
    d.inputs.map((i) => [
      i.name,
      i.type,
      `[${i.shape}]`,
      i.columns.join(", ") + (i.list ? ` (or a list of ${i.columns.length} under "${i.name}")` : "") +
      (i.aliases.length ? `; aliases ${i.aliases.join(", ")}` : "") + (i.required ? "; required" : ""),
    ]),
  ));
  lines.push("", "outputs");
  lines.push(...table(
    ["name", "type", "shape", "columns"],
    d.outputs.map((o) => [
      o.name,
      o.type,
      `[${o.shape}]`,
      o.columns.join(", ") + (o.labels ? `; ${labelsText(o.labelsFrom)} ${o.labels.join(", ")}` : ""),
    ]),
  ));
  const categorical = d.inputs.flatMap((i) =>
    (i.categories ?? []).flatMap((c, k) => c === null ? [] : [[i.columns[k], c] as const])
  );
  if (categorical.length > 0) {
    lines.push("", "known categories (what the model's encoders list; --strict-categories rejects any other)");
    lines.push(...table(["column", "categories"], categorical.map(([column, c]) => [column, categoriesText(c)])));
  }
  lines.push("", "columns a row needs (CSV header for score batch)", `  ${d.csvHeader}`);
  lines.push("", "POST /predict (score serve)", `  ${d.predict.curl}`);
  lines.push("", "OIP infer (score serve)", `  ${d.infer.curl}`);
  for (const w of d.warnings) lines.push("", `warning: ${w}`);
  return lines.join("\n") + "\n";
}

function labelsText(from: string | null): string {
  return from === "ZipMap" ? "ZipMap rewritten, labels" : `labels (from the ${from ?? "classifier"})`;
}

/** At most CATEGORIES_SHOWN categories, then how many more: a column may have hundreds. */
function categoriesText(categories: readonly string[]): string {
  const shown = categories.slice(0, CATEGORIES_SHOWN).map((c) => JSON.stringify(c)).join(", ");
  const more = categories.length - CATEGORIES_SHOWN;
  return more > 0 ? `${shown}, … (${more} more; --json lists all)` : shown;
}

const CATEGORIES_SHOWN = 20;

function table(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  return all.map((r) => "  " + r.map((v, c) => c === r.length - 1 ? v : v.padEnd(widths[c])).join("  "));
}
