/**
 * What the inspect tests share: a model loaded, described as `score inspect`
 * describes it, and closed.
 */
import { describeModel, type ModelDescription } from "../../src/inspect/mod.ts";
import { loadModel } from "../../src/model/mod.ts";

/**
 * The description of the model at `path`, with the curl commands for `localhost:9696`.
 *
 * @example
 * ```ts
 * (await describe("models/churn")).csvHeader;
 * ```
 */
export async function describe(path: string): Promise<ModelDescription> {
  const model = await loadModel(path);
  try {
    return describeModel(model, "http://localhost:9696");
  } finally {
    await model.close();
  }
}
