/**
 * A window's drift as one self-contained HTML page: a summary, a table of
 * every column's test, and one plot per column (reference against window)
 * as inline SVG. No script, no font, no request: it opens anywhere,
 * offline, and prints.
 */
import { alignCounts } from "./column_drift.ts";
import { CategoricalProfile } from "./categorical_profile.ts";
import type { ColumnDriftRow, DatasetProfile } from "./dataset_profile.ts";
import { NumericProfile } from "./numeric_profile.ts";
import type { WeightedValues } from "./quantile_sketch.ts";

/** What a report shows. */
export interface DriftReportInput {
  model: { name: string; version: string };
  window?: { start: Date; end: Date };
  shard?: { index: number; count: number };
  reference: DatasetProfile;
  current: DatasetProfile;
  drift: ColumnDriftRow[];
}

const REFERENCE_COLOR = "#9aa5b1";
const CURRENT_COLOR = "#2f6fdb";
const BINS = 30;
const TOP_CATEGORIES = 15;

/**
 * The report's HTML.
 *
 * @example
 * ```ts
 * await Deno.writeTextFile("report.html", renderDriftReport({ model, reference, current, drift: reference.drift(current) }));
 * ```
 */
export function renderDriftReport(input: DriftReportInput): string {
  const { model, window, shard, reference, current, drift } = input;
  const inputs = drift.filter((d) => d.role === "input");
  const drifted = inputs.filter((d) => d.drifted);
  const prediction = drift.filter((d) => d.role === "output");
  const span = window ? `${window.start.toISOString()} to ${window.end.toISOString()}` : "the whole input";
  const title = `Drift: ${model.name} ${model.version}, ${span}`;
  const cards = [
    ["rows", String(current.rows)],
    ["drifted input columns", `${drifted.length} of ${inputs.length}`],
    ...prediction.map((p) => [`prediction drift (${p.column})`, `${fmt(p.score)}${p.drifted ? " drifted" : ""}`]),
    ["reference rows", String(reference.rows)],
  ];
  const rows = drift.map((d) =>
    `<tr class="${d.drifted ? "drifted" : ""}"><td>${esc(d.column)}</td><td>${d.role}</td><td>${d.kind}</td>` +
    `<td>${METHOD_NAMES[d.method]}</td><td>${fmt(d.score)}</td><td>${
      d.method === "ks" || d.method === "chi_squared" ? "&lt; " : "&ge; "
    }${fmt(d.threshold)}</td><td>${d.score === null ? "no values" : d.drifted ? "yes" : "no"}</td>` +
    `<td>${pct(d.reference_missing_share)} / ${pct(d.missing_share)}</td>` +
    `<td>${fmt(d.reference_mean)} / ${fmt(d.mean)}</td></tr>`
  ).join("\n");
  const plots = drift.map((d) => {
    const ref = reference.columns.get(d.column)!.profile;
    const cur = current.columns.get(d.column)!.profile;
    const svg = ref instanceof NumericProfile && cur instanceof NumericProfile
      ? numericPlot(ref, cur)
      : ref instanceof CategoricalProfile && cur instanceof CategoricalProfile
      ? categoricalPlot(ref, cur)
      : "";
    return `<section class="plot${d.drifted ? " drifted" : ""}"><h3>${esc(d.column)} <small>${d.role}, ${d.kind}, ${
      METHOD_NAMES[d.method]
    } ${fmt(d.score)}${d.drifted ? ", drifted" : ""}</small></h3>${svg}</section>`;
  }).join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1f2933;background:#fff}
h1{font-size:20px;margin:0 0 4px}h3{font-size:15px;margin:0 0 6px}small{color:#52606d;font-weight:normal}
.meta{color:#52606d;margin-bottom:16px}.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:18px}
.card{border:1px solid #d9e2ec;border-radius:6px;padding:8px 14px;min-width:150px}
.card b{display:block;font-size:20px}.card span{color:#52606d;font-size:12px}
table{border-collapse:collapse;margin-bottom:20px;font-size:13px}th,td{border-bottom:1px solid #e4e7eb;padding:4px 10px;text-align:left}
tr.drifted td{background:#fde8e8}.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:16px}
.plot{border:1px solid #d9e2ec;border-radius:6px;padding:10px}.plot.drifted{border-color:#e12d39}
.legend{font-size:12px;color:#52606d;margin-bottom:10px}.swatch{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
</style></head><body>
<h1>${esc(title)}</h1>
<div class="meta">model ${esc(model.name)}, version ${esc(model.version)}; reference profiled with version ${
    esc(reference.model.version)
  }${shard ? `; shard ${shard.index}/${shard.count}` : ""}</div>
<div class="cards">${
    cards.map(([label, value]) => `<div class="card"><b>${esc(value)}</b><span>${esc(label)}</span></div>`).join("")
  }</div>
<table><thead><tr><th>column</th><th>role</th><th>kind</th><th>test</th><th>score</th><th>drift when</th><th>drifted</th>` +
    `<th>missing (reference / window)</th><th>mean (reference / window)</th></tr></thead><tbody>
${rows}
</tbody></table>
<div class="legend">Plots: share of values,<span class="swatch" style="background:${REFERENCE_COLOR}"></span>reference` +
    `<span class="swatch" style="background:${CURRENT_COLOR}"></span>window</div>
<div class="plots">
${plots}
</div>
</body></html>
`;
}

const METHOD_NAMES = {
  wasserstein: "Wasserstein (normed)",
  ks: "KS p-value",
  jensen_shannon: "Jensen-Shannon",
  chi_squared: "chi-squared p-value",
} as const;

const W = 440;
const H = 200;
const PAD = { left: 44, right: 22, top: 8, bottom: 46 };

/** Both distributions as shares over 30 equal bins between the 1st and 99th percentiles of both (tails in the end bins). */
function numericPlot(reference: NumericProfile, current: NumericProfile): string {
  const a = reference.sketch.weighted();
  const b = current.sketch.weighted();
  const lows = [quantile(a, 0.01), quantile(b, 0.01)].filter((x) => x !== null) as number[];
  const highs = [quantile(a, 0.99), quantile(b, 0.99)].filter((x) => x !== null) as number[];
  if (lows.length === 0) return emptyPlot();
  let lo = Math.min(...lows);
  let hi = Math.max(...highs);
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const ha = histogram(a, lo, hi);
  const hb = histogram(b, lo, hi);
  const top = Math.max(...ha, ...hb, 1e-9);
  const x = (i: number) => PAD.left + (i / BINS) * (W - PAD.left - PAD.right);
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const bars = (h: number[], color: string, opacity: number) =>
    h.map((v, i) =>
      `<rect x="${x(i).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(x(i + 1) - x(i) - 1).toFixed(1)}" height="${
        (H - PAD.bottom - y(v)).toFixed(1)
      }" fill="${color}" fill-opacity="${opacity}"/>`
    ).join("");
  const ticks = [0, BINS / 2, BINS].map((i) =>
    `<text x="${x(i).toFixed(1)}" y="${H - PAD.bottom + 14}" text-anchor="middle">${
      fmt(lo + (i / BINS) * (hi - lo))
    }</text>`
  ).join("");
  return svg(
    bars(ha, REFERENCE_COLOR, 0.9) + bars(hb, CURRENT_COLOR, 0.55) + axes(top) + ticks,
  );
}

/** The largest categories (of both sides together) as grouped bars of shares, the rest together as "others". */
function categoricalPlot(reference: CategoricalProfile, current: CategoricalProfile): string {
  const [p, q] = alignCounts(reference, current);
  const names = [...new Set([...reference.counts().keys(), ...current.counts().keys()])];
  if (reference.other > 0 || current.other > 0) names.push("(past the cap)");
  const sp = p.reduce((s, v) => s + v, 0) || 1;
  const sq = q.reduce((s, v) => s + v, 0) || 1;
  const order = names.map((_, i) => i).sort((i, j) => (p[j] / sp + q[j] / sq) - (p[i] / sp + q[i] / sq));
  const shown = order.slice(0, TOP_CATEGORIES);
  const rest = order.slice(TOP_CATEGORIES);
  const groups = shown.map((i) => ({ name: names[i], a: p[i] / sp, b: q[i] / sq }));
  if (rest.length > 0) {
    groups.push({
      name: `${rest.length} others`,
      a: rest.reduce((s, i) => s + p[i], 0) / sp,
      b: rest.reduce((s, i) => s + q[i], 0) / sq,
    });
  }
  if (groups.length === 0) return emptyPlot();
  const top = Math.max(...groups.flatMap((g) => [g.a, g.b]), 1e-9);
  const step = (W - PAD.left - PAD.right) / groups.length;
  const y = (v: number) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  const body = groups.map((g, i) => {
    const x0 = PAD.left + i * step;
    const w = Math.max(1, step / 2 - 1);
    const label = g.name.length > 10 ? g.name.slice(0, 9) + "…" : g.name;
    return `<rect x="${x0.toFixed(1)}" y="${y(g.a).toFixed(1)}" width="${w.toFixed(1)}" height="${
      (H - PAD.bottom - y(g.a)).toFixed(1)
    }" fill="${REFERENCE_COLOR}"/>` +
      `<rect x="${(x0 + w).toFixed(1)}" y="${y(g.b).toFixed(1)}" width="${w.toFixed(1)}" height="${
        (H - PAD.bottom - y(g.b)).toFixed(1)
      }" fill="${CURRENT_COLOR}"/>` +
      `<text x="${(x0 + step / 2).toFixed(1)}" y="${H - PAD.bottom + 12}" text-anchor="end" transform="rotate(-35 ${
        (x0 + step / 2).toFixed(1)
      } ${H - PAD.bottom + 12})">${esc(label)}</text>`;
  }).join("");
  return svg(body + axes(top));
}

function axes(top: number): string {
  return `<line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${
    H - PAD.bottom
  }" stroke="#7b8794"/>` +
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${H - PAD.bottom}" stroke="#7b8794"/>` +
    `<text x="${PAD.left - 4}" y="${PAD.top + 8}" text-anchor="end">${pct(top)}</text>` +
    `<text x="${PAD.left - 4}" y="${H - PAD.bottom}" text-anchor="end">0</text>`;
}

function svg(body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" ` +
    `font-size="10" fill="#52606d" role="img">${body}</svg>`;
}

function emptyPlot(): string {
  return svg(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no values</text>`);
}

/** Shares of the weight per bin of [lo, hi], values outside counted in the end bins. */
function histogram({ values, weights }: WeightedValues, lo: number, hi: number): number[] {
  const bins = new Array(BINS).fill(0);
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const at = Math.min(BINS - 1, Math.max(0, Math.floor(((values[i] - lo) / (hi - lo)) * BINS)));
    bins[at] += weights[i];
    total += weights[i];
  }
  return total > 0 ? bins.map((v) => v / total) : bins;
}

/** The value at rank q of a weighted distribution, null when empty. */
function quantile({ values, weights }: WeightedValues, q: number): number | null {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i];
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    seen += weights[i];
    if (seen >= q * total) return values[i];
  }
  return values[values.length - 1];
}

function fmt(v: number | null): string {
  if (v === null) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e5 || a < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(3)));
}

function pct(v: number | null): string {
  return v === null ? "–" : `${Number((v * 100).toPrecision(3))}%`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
