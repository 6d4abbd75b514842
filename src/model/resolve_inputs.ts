/**
 * Finding the columns that feed each input among those a batch has: the
 * exact name first, else the one column that matches ignoring case (a CSV
 * header `Trip_Distance` feeds `trip_distance`), never a guess between two.
 */
import type { InputSpec } from "./specs.ts";
import { ModelError } from "./model_error.ts";

/** Where one input's values are in a batch. At least one of the two is set. */
export interface InputFeed {
  /** The column of each value, in the input's order (one for an `[N]` input, K for `[N,K]`), when all are there. */
  columns?: string[];
  /** For an `[N,K]` input: the column holding each row's K values as one list (JSON's array form), when there. */
  listColumn?: string;
}

/**
 * Resolves every input of `model` against the available column names;
 * throws `missing_inputs` naming every input that has no column (and what
 * the batch has), or naming the columns an input matches ambiguously.
 *
 * @example
 * ```ts
 * resolveInputs("iris", inputs, ["Sepal_Length", "sepal_width", "petal_length", "petal_width"]);
 * // Map { "float_input" => { columns: ["Sepal_Length", "sepal_width", "petal_length", "petal_width"] } }
 * ```
 */
export function resolveInputs(
  model: string,
  inputs: readonly InputSpec[],
  available: Iterable<string>,
): Map<string, InputFeed> {
  const finder = new ColumnFinder(model, available);
  const found = new Map<string, InputFeed>();
  const missing: string[] = [];
  for (const input of inputs) {
    if (!input.vector) {
      const column = finder.find([...new Set([...input.columns, input.name, ...input.aliases])]);
      if (column === undefined) missing.push(`"${input.columns[0]}"`);
      else found.set(input.name, { columns: [column] });
      continue;
    }
    const packed = finder.find([input.name, ...input.aliases]);
    const columns = input.columns.map((c) => finder.find([c]));
    const complete = columns.every((c) => c !== undefined);
    if (complete) found.set(input.name, { columns: columns as string[], ...(packed ? { listColumn: packed } : {}) });
    else if (packed !== undefined) found.set(input.name, { listColumn: packed });
    else {
      const absent = input.columns.filter((_, k) => columns[k] === undefined).map((c) => `"${c}"`);
      missing.push(`${absent.join(", ")} (or "${input.name}" as a list of ${input.columns.length} values)`);
    }
  }
  if (missing.length > 0) {
    const there = [...finder.names].map((c) => `"${c}"`).join(", ") || "none";
    throw ModelError.missingInputs(
      `Missing input ${missing.length === 1 && !missing[0].includes(",") ? "column" : "columns"} for model ` +
        `"${model}": ${missing.join(", ")} (columns present: ${there})`,
    );
  }
  return found;
}

/** Every column name a source resolved to, each once. */
export function sourceColumns(sources: ReadonlyMap<string, InputFeed>): string[] {
  const names = new Set<string>();
  for (const s of sources.values()) {
    if (s.listColumn !== undefined) names.add(s.listColumn);
    for (const c of s.columns ?? []) names.add(c);
  }
  return [...names];
}

class ColumnFinder {
  readonly names: ReadonlySet<string>;
  readonly #lower = new Map<string, string[]>();

  constructor(readonly model: string, available: Iterable<string>) {
    this.names = new Set(available);
    for (const name of this.names) {
      const key = name.toLowerCase();
      const list = this.#lower.get(key);
      if (list) list.push(name);
      else this.#lower.set(key, [name]);
    }
  }

  /** The first candidate present as is, else the first present once ignoring case. */
  find(candidates: readonly string[]): string | undefined {
    for (const c of candidates) if (this.names.has(c)) return c;
    for (const c of candidates) {
      const matches = this.#lower.get(c.toLowerCase());
      if (matches === undefined) continue;
      if (matches.length > 1) {
        throw ModelError.missingInputs(
          `Column "${c}" of model "${this.model}" matches several columns that differ only in case: ` +
            `${matches.map((m) => `"${m}"`).join(", ")}; rename one of them`,
        );
      }
      return matches[0];
    }
    return undefined;
  }
}
