/**
 * A manifest must speak of the model it sits beside: an input or output it
 * names that the model lacks is a typo that would otherwise be ignored.
 */
import type { Manifest } from "./manifest.ts";
import type { InputSpec } from "./specs.ts";
import { ModelError } from "./model_error.ts";

/**
 * Throws `bad_model` when the manifest names an input or output the model
 * does not have (listing those it has), or when two inputs would be fed by
 * the same column.
 *
 * @example
 * ```ts
 * checkManifest(manifest, session.inputNames, session.outputNames, "models/iris/model.json");
 * ```
 */
export function checkManifest(
  manifest: Manifest,
  inputNames: readonly string[],
  outputNames: readonly string[],
  where: string,
): void {
  for (const [section, names] of [["inputs", inputNames], ["outputs", outputNames]] as const) {
    for (const name of Object.keys(manifest[section] ?? {})) {
      if (names.includes(name)) continue;
      throw ModelError.badModel(
        `Invalid model manifest ${where}: "${section}.${name}" names no ${section.slice(0, -1)} of the model ` +
          `(its ${section}: ${names.map((n) => `"${n}"`).join(", ")})`,
      );
    }
  }
}

/**
 * Throws `bad_model` when one column name would feed two inputs (or two
 * values of one input).
 *
 * @example
 * ```ts
 * checkInputColumns(inputs, "models/iris");
 * ```
 */
export function checkInputColumns(inputs: readonly InputSpec[], where: string): void {
  const owner = new Map<string, string>();
  for (const input of inputs) {
    const twice = input.columns.find((c, i) => input.columns.indexOf(c) !== i);
    if (twice !== undefined) {
      throw ModelError.badModel(`Model ${where}: input "${input.name}" names column "${twice}" twice`);
    }
    for (const column of new Set([...input.columns, input.name, ...input.aliases])) {
      const other = owner.get(column);
      if (other !== undefined && other !== input.name) {
        throw ModelError.badModel(
          `Model ${where}: column "${column}" would feed both input "${other}" and input "${input.name}"; ` +
            `name the columns apart in the manifest`,
        );
      }
      owner.set(column, input.name);
    }
  }
}
