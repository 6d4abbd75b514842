/**
 * A `model.json` for the user to edit, written from what `score` read off
 * the model: loading the model with it changes nothing until it is edited.
 */
import { isJsonObject } from "../value_codec.ts";
import type { ModelDescription } from "./describe_model.ts";

/**
 * The manifest skeleton of a described model: every input (its columns when it takes several, its aliases and
 * `required`), every output (its labels when it has several columns), and `strictCategories` for a model whose
 * encoders list known categories.
 *
 * @example
 * ```ts
 * manifestSkeleton(describeModel(model, "http://localhost:9696")).inputs.float_input.columns;
 * // ["float_input_0", "float_input_1", "float_input_2", "float_input_3"]
 * ```
 */
export function manifestSkeleton(d: ModelDescription, previous?: unknown) {
  // What the model cannot tell and a manifest being replaced said: its version and its outputs' renames. Dropped,
  // the predictions would change their column names and model_version.
  const before = isJsonObject(previous) ? previous : {};
  const renames = isJsonObject(before.outputs) ? before.outputs : {};
  const renameOf = (output: string) => {
    const o = renames[output];
    return isJsonObject(o) && typeof o.rename === "string" ? { rename: o.rename } : {};
  };
  return {
    name: d.name,
    ...(typeof before.version === "string" ? { version: before.version } : {}),
    description: d.description,
    inputs: Object.fromEntries(d.inputs.map((i) => [
      i.name,
      i.list ? { columns: i.columns, aliases: i.aliases, required: i.required } : {
        aliases: i.aliases,
        required: i.required,
      },
    ])),
    outputs: Object.fromEntries(
      d.outputs.map((o) => [o.name, { ...renameOf(o.name), ...(o.columns.length > 1 ? { labels: o.columns } : {}) }]),
    ),
    // Shown where it matters, so a user finds the switch: false is what the model does without it.
    ...(d.inputs.some((i) => i.categories !== null) ? { strictCategories: false } : {}),
  };
}
