/**
 * The inputs a graph declares, read from the file without starting a
 * session: what the model store needs to map an MLflow signature onto them
 * before the model loads.
 */
import { readModel } from "./onnx_reader.ts";

/** One graph input: its name and shape (a number, or a name / "" for a dynamic dimension). */
export interface GraphInput {
  name: string;
  shape: (number | string)[];
}

/**
 * The graph's inputs, initializers left out.
 *
 * @example
 * ```ts
 * graphInputs(await Deno.readFile("model.onnx")); // [{ name: "float_input", shape: ["N", 4] }]
 * ```
 */
export function graphInputs(bytes: Uint8Array): GraphInput[] {
  const graph = readModel(bytes).graph;
  const initializers = new Set((graph?.initializer ?? []).map((i) => i.name));
  return (graph?.input ?? []).filter((i) => !initializers.has(i.name)).map((i) => ({
    name: i.name ?? "",
    shape: (i.type?.tensorType?.shape?.dim ?? []).map((d) =>
      d.dimValue !== null && d.dimValue !== undefined ? Number(d.dimValue.toString()) : d.dimParam ?? ""
    ),
  }));
}
