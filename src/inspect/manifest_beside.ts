/**
 * Where `score inspect --write-manifest` writes: the file the loader reads
 * a manifest from.
 */
import { basename, dirname, join } from "node:path";
import { UsageError } from "../errors.ts";
import { parseModelUri } from "../store/model_uri.ts";

/**
 * Where the loader reads a model's manifest, for `score inspect --write-manifest`: in a local model directory, or
 * beside a file named model.onnx.
 *
 * @example
 * ```ts
 * await manifestBeside("models/churn"); // "models/churn/model.json"
 * ```
 */
export async function manifestBeside(value: string): Promise<string> {
  const uri = parseModelUri(value);
  if (uri.kind !== "local") {
    throw new UsageError(`--write-manifest writes beside a local model; "${uri.text}" is not on this machine`);
  }
  const path = uri.path;
  const stat = await Deno.stat(path).catch(() => null);
  if (stat?.isDirectory) return join(path, "model.json");
  if (stat?.isFile && basename(path) === "model.onnx") return join(dirname(path), "model.json");
  throw new UsageError(
    `--write-manifest needs a model directory or a file named model.onnx (a manifest is read from there); ` +
      `"${path}" is ${stat === null ? "not a file" : "another file"}: put it in a folder as model.onnx`,
  );
}
