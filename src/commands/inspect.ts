/**
 * `score inspect`: the first minute with a new model. It loads the model
 * as every command does and prints what `score` reads off it: inputs and
 * outputs, the columns a row needs, requests ready to paste, a CSV header;
 * `--write-manifest` writes a `model.json` skeleton beside the model.
 */
import { Command } from "../cli/command.ts";
import { envOption } from "../cli/env_option.ts";
import {
  loadOptionsOf,
  modelOption,
  modelPath,
  type ModelTuningFlags,
  modelTuningOptions,
  resolveOptionsOf,
} from "../cli/options.ts";
import { UsageError } from "../errors.ts";
import type * as Inspect from "../inspect/mod.ts";
import { lazyImport } from "../lazy_import.ts";
import { log } from "../log.ts";
import type * as Store from "../store/mod.ts";
import { writeAll } from "../sinks/write_all.ts";

interface InspectFlags extends ModelTuningFlags {
  model?: string;
  json: boolean;
  url: string;
  writeManifest: boolean;
  force: boolean;
}

/**
 * The `inspect` command.
 *
 * @example
 * ```sh
 * score inspect models/iris
 * score inspect model.onnx --json
 * score inspect models/iris --write-manifest
 * ```
 */
export function inspectCommand(): Command {
  const cmd = new Command("inspect", {
    description:
      "Show what score reads off a model: its inputs and outputs (names, types, shapes, fixed batch, ZipMap and its " +
      "labels), the columns a row needs (a CSV header for score batch), and curl commands for /predict and OIP " +
      "infer with an example row. --write-manifest writes a model.json skeleton beside the model to edit.",
    argument: {
      name: "model",
      help: "model directory (model.onnx + model.json), .onnx file, or a shipped model's name",
    },
  });
  cmd.addOptions([
    modelOption({ required: false }),
    envOption("--json", "print the description as JSON", { env: "SCORE_JSON", default: false }),
    envOption("--url <url>", "where score serve listens, for the curl commands", {
      env: "SCORE_URL",
      default: "http://localhost:9696",
    }),
    envOption("--write-manifest", "write a model.json skeleton beside the model (inputs, columns, outputs, labels)", {
      env: "SCORE_WRITE_MANIFEST",
      default: false,
    }),
    envOption("--force", "with --write-manifest: replace an existing model.json", {
      env: "SCORE_FORCE",
      default: false,
    }),
    ...modelTuningOptions(),
  ]);
  return cmd.action(async (flags: InspectFlags, { argument: positional }) => {
    if (positional !== undefined && flags.model !== undefined && modelPath(positional) !== flags.model) {
      throw new UsageError(`Give the model once: "${positional}" and --model "${flags.model}"`);
    }
    const path = positional !== undefined ? modelPath(positional) : flags.model;
    if (path === undefined) throw new UsageError("Which model? score inspect MODEL (or --model, SCORE_MODEL)");
    const [{ openModel }, { describeModel, manifestBeside, manifestSkeleton, renderText }] = await Promise.all([
      lazyImport<typeof Store>(new URL("../store/mod.ts", import.meta.url)),
      lazyImport<typeof Inspect>(new URL("../inspect/mod.ts", import.meta.url)),
    ]);
    const manifestPath = flags.writeManifest ? await manifestBeside(path) : undefined;
    const { model } = await openModel(path, resolveOptionsOf(flags), loadOptionsOf(flags));
    try {
      const description = describeModel(model, flags.url);
      if (manifestPath !== undefined) {
        // A manifest being replaced keeps what the model cannot tell (its version, its outputs' renames).
        const previous = flags.force ? await readJsonFile(manifestPath) : undefined;
        await writeManifest(manifestPath, manifestSkeleton(description, previous), flags.force);
        log.info("manifest written", { model: model.name, path: manifestPath });
      }
      const text = flags.json ? JSON.stringify(description, null, 2) + "\n" : renderText(description);
      await writeAll(Deno.stdout, new TextEncoder().encode(text));
    } finally {
      await model.close();
    }
  });
}

/** The JSON in `path`, or undefined when there is none (or it is not JSON: the loader has refused it already). */
async function readJsonFile(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch {
    return undefined;
  }
}

async function writeManifest(path: string, manifest: unknown, force: boolean): Promise<void> {
  const text = JSON.stringify(manifest, null, 2) + "\n";
  try {
    // createNew: an existing file is refused atomically, never half-replaced
    await Deno.writeTextFile(path, text, force ? {} : { createNew: true });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new UsageError(`${path} already exists; --force replaces it`);
    }
    throw err;
  }
}
