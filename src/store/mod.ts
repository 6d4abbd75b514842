/**
 * The model store: where `--model` points (a local path, an MLflow model
 * directory, `s3://`, `http(s)://`), resolved to local files through a
 * cache, then loaded by the model module.
 *
 * @example
 * ```ts
 * import { openModel } from "./src/store/mod.ts";
 * const { model } = await openModel("s3://mlflow/1/e1efc53e/artifacts/model", { cacheDir: "/tmp/score" });
 * ```
 */
export { loadResolved, type OpenedModel, openModel } from "./open_model.ts";
export {
  MODEL_MAX_BYTES,
  MODEL_TIMEOUT_SECONDS,
  type ResolvedModel,
  resolveModel,
  type ResolveOptions,
} from "./resolve_model.ts";
export { ModelCache } from "./model_cache.ts";
export { ModelReloader, type ReloaderOptions, type ReloadOutcome } from "./model_reloader.ts";
export { parseModelUri } from "./model_uri.ts";
export { s3Config } from "./s3_config.ts";
