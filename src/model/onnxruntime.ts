/**
 * onnxruntime-node, loaded when the first model loads: `score --help` or a
 * command that fails on its flags never loads the native library. Every
 * tensor is made after a model loaded, so the synchronous accessor is safe
 * on the scoring path.
 */
import type * as Ort from "onnxruntime-node";
import { lazyImport } from "../lazy_import.ts";
import { turnOffOrtTelemetry } from "./ort_telemetry.ts";

let loaded: typeof Ort | undefined;

/**
 * Loads onnxruntime-node once; later calls return the same module.
 *
 * @example
 * ```ts
 * const session = await (await loadOnnxruntime()).InferenceSession.create(bytes);
 * ```
 */
export async function loadOnnxruntime(): Promise<typeof Ort> {
  if (loaded === undefined) {
    turnOffOrtTelemetry();
    loaded = await lazyImport<typeof Ort>(new URL("./onnxruntime_node.ts", import.meta.url));
    // onnxruntime's own log lines are raw coloured text on stderr, amid our JSON lines; what it has to say about a
    // failure reaches us as the error it throws. Read when the first session is made (here or in a worker).
    loaded.env.logLevel = "fatal";
  }
  return loaded;
}

/**
 * onnxruntime-node, once {@linkcode loadOnnxruntime} has loaded it (a model is loaded).
 *
 * @example
 * ```ts
 * const t = new (onnxruntime().Tensor)("float32", new Float32Array([1]), [1, 1]);
 * ```
 */
export function onnxruntime(): typeof Ort {
  if (loaded === undefined) throw new Error("onnxruntime-node used before a model was loaded");
  return loaded;
}
