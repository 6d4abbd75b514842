/**
 * ZipMap classifiers: skl2onnx (and onnxmltools) end a classifier with a
 * `ZipMap` node that turns the `[N, C]` probability tensor into a sequence
 * of maps, which onnxruntime-node cannot hand back. {@linkcode unzipMaps}
 * rewrites the graph so the ZipMap's output is that tensor itself, under the
 * same name, and reports the class labels the ZipMap held.
 */
import {
  attributeList,
  batchDimName,
  decodeModel,
  encodeModel,
  floatMatrix,
  type ModelProto,
  type NodeProto,
} from "./onnx_proto.ts";

/** A ZipMap output that became a float tensor. */
export interface UnzippedOutput {
  /** The graph output's name (unchanged, e.g. `output_probability`). */
  output: string;
  /** Class labels in column order, as text (int64 labels in decimal). */
  labels: string[];
  /** The ZipMap's key type: `classlabels_strings` or `classlabels_int64s`. */
  labelType: "string" | "int64";
}

/**
 * Rewrites every ZipMap that ends in a graph output; returns the new model
 * bytes and what became of each, or undefined when the model has none.
 *
 * @example
 * ```ts
 * const unzipped = unzipMaps(await Deno.readFile("model.onnx"));
 * unzipped?.outputs; // [{ output: "output_probability", labels: ["setosa", ...], labelType: "string" }]
 * ```
 */
export function unzipMaps(bytes: Uint8Array): { bytes: Uint8Array; outputs: UnzippedOutput[] } | undefined {
  const model = decodeModel(bytes);
  const outputs = rewrite(model);
  return outputs.length === 0 ? undefined : { bytes: encodeModel(model), outputs };
}

function rewrite(model: ModelProto): UnzippedOutput[] {
  const graph = model.graph;
  if (!graph?.node || !graph.output) return [];
  const done: UnzippedOutput[] = [];
  for (let i = 0; i < graph.node.length; i++) {
    const node = graph.node[i];
    if (node.opType !== "ZipMap" || node.input?.length !== 1 || node.output?.length !== 1) continue;
    const [probs] = node.input;
    const [out] = node.output;
    const k = graph.output.findIndex((o) => o.name === out);
    // A ZipMap whose maps feed another node is part of the computation: leave it be.
    if (k < 0 || graph.node.some((n) => n.input?.includes(out))) continue;
    const strings = attributeList(node, "classlabels_strings");
    const labels = strings && strings.length > 0 ? strings : attributeList(node, "classlabels_int64s");
    if (labels === undefined || labels.length === 0) continue;
    graph.node[i] = identity(node, probs, out);
    graph.output[k] = floatMatrix(out, batchDimName(graph.input?.[0]), labels.length);
    if (graph.valueInfo) graph.valueInfo = graph.valueInfo.filter((v) => v.name !== out);
    done.push({ output: out, labels, labelType: strings && strings.length > 0 ? "string" : "int64" });
  }
  if (done.length > 0 && !model.opsetImport?.some((o) => (o.domain ?? "") === "")) {
    // Identity is in the default domain, which old ai.onnx.ml-only exports do not import.
    (model.opsetImport ??= []).push({ domain: "", version: 9 });
  }
  return done;
}

function identity(zipMap: NodeProto, input: string, output: string): NodeProto {
  return { name: zipMap.name, opType: "Identity", domain: "", input: [input], output: [output] };
}
