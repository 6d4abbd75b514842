/**
 * Resolves a `--model` value and loads it: the one call every command makes
 * to get a model, wherever it lives.
 */
import { log } from "../log.ts";
import { loadModel, type LoadOptions, type Model } from "../model/mod.ts";
import { markGood, type ResolvedModel, resolveModel, type ResolveOptions } from "./resolve_model.ts";

/** A loaded model and where it came from. */
export interface OpenedModel {
  model: Model;
  resolved: ResolvedModel;
}

/**
 * Resolves and loads a model; logs the warnings of both steps (a copy from
 * the cache because the store is down, an MLflow signature that does not
 * match the graph, a left-out output).
 *
 * @example
 * ```ts
 * const { model } = await openModel("s3://mlflow/1/e1efc53e/artifacts/model", { cacheDir }, { intraOpThreads: 1 });
 * ```
 */
export async function openModel(value: string, store: ResolveOptions, options: LoadOptions = {}): Promise<OpenedModel> {
  const resolved = await resolveModel(value, store);
  return { model: await loadResolved(resolved, options), resolved };
}

/**
 * Loads a model already resolved (a reload resolves first, to load only
 * what changed). A remote model's copy that loads becomes the last good
 * one, the copy that serves while its store is down.
 */
export async function loadResolved(resolved: ResolvedModel, options: LoadOptions = {}): Promise<Model> {
  if (resolved.stale) {
    log.warn("model store unreachable: using the last good copy", {
      model_uri: resolved.uri,
      fetched_at: resolved.stale.resolvedAt,
      reason: resolved.stale.reason,
    });
  }
  // The files resolving read are handed over once: the resolved model, which reloads keep, must not hold them.
  const files = resolved.files;
  delete resolved.files;
  const model = await loadModel(resolved.onnxPath, { ...options, manifest: resolved.manifest, files });
  if (!resolved.stale) {
    // The model serves either way: a cache that cannot record it only lacks a fallback.
    await markGood(resolved).catch((err) =>
      log.warn("cannot record the model's copy as good", { model_uri: resolved.uri, reason: (err as Error).message })
    );
  }
  for (const w of model.warnings) log.warn(w, { model: model.name });
  const names = new Set(model.inputs.flatMap((i) => [i.name, ...i.aliases]));
  const unknown = resolved.signature.filter((s) => !names.has(s.name)).map((s) => `"${s.name}"`);
  if (unknown.length > 0) {
    log.warn("MLflow signature inputs that are not inputs of the ONNX graph are ignored", {
      model: model.name,
      signature_inputs: unknown.join(", "),
      graph_inputs: model.inputs.map((i) => i.name).join(", "),
    });
  }
  return model;
}
