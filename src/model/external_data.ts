/**
 * External data: a graph whose tensors keep their bytes in files beside
 * the `.onnx` (PyTorch 2.x exporters write `model.onnx` + `model.onnx.data`),
 * each tensor naming its file by a `location` relative to the `.onnx`'s folder.
 */
import { createHash } from "node:crypto";
import { isAbsolute, join, posix } from "node:path";
import { ModelError } from "./model_error.ts";
import { EXTERNAL, type GraphProto, holdsText, type NodeProto, readModel, type TensorProto } from "./onnx_reader.ts";
import { readWholeFile } from "../read_whole_file.ts";

/** A data file: its location as the graph writes it (what onnxruntime looks up), the file it names, its bytes. */
export interface ExternalFile {
  path: string;
  /** The location relative to the `.onnx`'s folder, normalised (`./a.bin` is `a.bin`). */
  name: string;
  data: Uint8Array;
}

/**
 * The data files a graph names, relative to its folder, sorted, each once;
 * none for a graph that holds its tensors. A location outside the folder
 * (absolute, or through `..`) is refused, naming the tensor and the file.
 *
 * @example
 * ```ts
 * externalDataFiles(await Deno.readFile("model.onnx"), "model.onnx"); // ["model.onnx.data"]
 * ```
 */
export function externalDataFiles(bytes: Uint8Array, where: string): string[] {
  return [...new Set(locations(bytes, where).values())].sort();
}

/**
 * Reads the data files a graph names, from `dir` (the `.onnx`'s folder),
 * for onnxruntime's `externalData`: each location the graph writes, with
 * its file's bytes (from `files`, by path, when the caller has read it
 * already). A missing file is named with the path it was expected at.
 *
 * @example
 * ```ts
 * const files = await readExternalData(bytes, "models/mlp", "models/mlp/model.onnx");
 * files[0].path; // "model.onnx.data"
 * ```
 */
export async function readExternalData(
  bytes: Uint8Array,
  dir: string,
  where: string,
  files?: ReadonlyMap<string, Uint8Array>,
): Promise<ExternalFile[]> {
  const read = new Map<string, Uint8Array>();
  const found: ExternalFile[] = [];
  for (const [location, name] of locations(bytes, where)) {
    let data = read.get(name);
    if (data === undefined) {
      const path = join(dir, name);
      data = files?.get(path) ?? await readDataFile(path, name, where);
      read.set(name, data);
    }
    found.push({ path: location, name, data });
  }
  return found;
}

/**
 * The sha256 (hex) a model's version is made of: the `.onnx`'s own when it
 * has no data files, so such a model's version never depends on this
 * scheme; else that of the text listing the `.onnx`'s sha256, then each
 * data file's sha256 and location, in the order of their locations.
 *
 * @example
 * ```ts
 * modelDigest(onnxSha256, [["model.onnx.data", dataSha256]]).slice(0, 12);
 * ```
 */
export function modelDigest(onnxSha256: string, data: readonly (readonly [string, string])[]): string {
  if (data.length === 0) return onnxSha256;
  const lines = [onnxSha256, ...[...data].sort((a, b) => a[0] < b[0] ? -1 : 1).map(([loc, sha]) => `${sha}  ${loc}`)];
  return createHash("sha256").update(lines.join("\n") + "\n").digest("hex");
}

/** Each location the graph writes -> the file it names, relative to the graph's folder. */
function locations(bytes: Uint8Array, where: string): Map<string, string> {
  const found = new Map<string, string>();
  // Every external tensor carries the key "location": a graph without those bytes is not decoded at all.
  if (!holdsText(bytes, "location")) return found;
  let graph: GraphProto | null | undefined;
  let nodes: NodeProto[] = [];
  try {
    const model = readModel(bytes);
    graph = model.graph;
    nodes = (model.functions ?? []).flatMap((f) => f.node ?? []);
  } catch (err) {
    throw ModelError.badModel(`Cannot read the graph of ${where}: ${(err as Error).message}`, { cause: err });
  }
  for (const t of [...tensorsOfGraph(graph), ...nodes.flatMap(tensorsOfNode)]) {
    if (t.dataLocation !== EXTERNAL) continue;
    const location = t.externalData?.find((e) => e.key === "location")?.value ?? "";
    if (!found.has(location)) found.set(location, checkLocation(location, t.name ?? "", where));
  }
  return found;
}

async function readDataFile(path: string, name: string, where: string): Promise<Uint8Array> {
  try {
    if (!(await Deno.stat(path)).isFile) {
      throw ModelError.badModel(`Model ${where}: its external data "${name}" (${path}) is not a file`);
    }
    return await readWholeFile(path);
  } catch (err) {
    if (err instanceof ModelError) throw err;
    if (err instanceof Deno.errors.NotFound) {
      throw ModelError.notFound(
        `Model ${where} is incomplete: its graph keeps tensors in "${name}", expected at ${path}, which does not exist`,
      );
    }
    throw ModelError.badModel(`Cannot read ${path}, external data of ${where}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function checkLocation(location: string, tensor: string, where: string): string {
  const normal = posix.normalize(location);
  if (location === "" || isAbsolute(location) || normal === ".." || normal.startsWith("../") || normal === ".") {
    const what = location === "" ? "no file" : `"${location}"`;
    throw ModelError.badModel(
      `Model ${where}: tensor "${tensor}" keeps its data in ${what}, which is not a file inside the model's folder ` +
        `(external data must sit beside the .onnx file or below it)`,
    );
  }
  return normal;
}

function tensorsOfGraph(graph: GraphProto | null | undefined): TensorProto[] {
  if (!graph) return [];
  return [
    ...(graph.initializer ?? []),
    ...(graph.sparseInitializer ?? []).flatMap((s) => [s.values, s.indices].filter((t) => !!t) as TensorProto[]),
    ...(graph.node ?? []).flatMap(tensorsOfNode),
  ];
}

/** A node's tensor attributes, and those of its subgraphs (an If's branches, a Loop's body). */
function tensorsOfNode(node: NodeProto): TensorProto[] {
  return (node.attribute ?? []).flatMap((a) => [
    ...(a.t ? [a.t] : []),
    ...(a.tensors ?? []),
    ...[a.sparseTensor, ...(a.sparseTensors ?? [])].flatMap((s) => s ? [s.values, s.indices] : [])
      .filter((t): t is TensorProto => !!t),
    ...tensorsOfGraph(a.g),
    ...(a.graphs ?? []).flatMap(tensorsOfGraph),
  ]);
}
