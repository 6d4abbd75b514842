/**
 * The options several commands share, and the parsers for option values.
 *
 * Configuration has one precedence, written once in `envOption`
 * (env_option.ts): a flag beats its environment variable, which beats the
 * default. `--help` shows each option's variable and default.
 */
import { InvalidArgumentError } from "../errors.ts";
import { FILE_FORMATS } from "../file_format.ts";
import { envOption, type Option } from "./env_option.ts";
import { usableCpus } from "./usable_cpus.ts";
import type { WorkersFlag } from "./worker_count.ts";
import type { LoadOptions } from "../model/mod.ts";
// The two files, not store/mod.ts: the flag table (all `--help` loads) needs no model runtime.
import { MODEL_MAX_BYTES, MODEL_TIMEOUT_SECONDS } from "../store/fetch_limits.ts";
import { defaultCacheDir } from "../store/cache_dir.ts";
import type { ResolveOptions } from "../store/mod.ts";

/**
 * Parses a whole number at least `min` (and at most `max`).
 *
 * @example
 * ```ts
 * envOption("--batch-size <n>", "rows per model run", { parse: wholeNumber(1) });
 * ```
 */
export function wholeNumber(min = 0, max = Infinity): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`"${value}" is not a whole number ${range}.`);
    }
    return n;
  };
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  k: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tib: 2 ** 40,
};

/**
 * Parses a size in bytes: a whole number, or a number with a unit (`KB`,
 * `MB`, `GB`, `TB` are powers of 1000; `K`/`KiB`, `M`/`MiB`, `G`/`GiB`,
 * `T`/`TiB` powers of 1024).
 *
 * @example
 * ```ts
 * byteSize("2GiB"); // 2147483648
 * ```
 */
export function byteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m === null ? undefined : UNITS[m[2].toLowerCase()];
  const bytes = unit === undefined ? NaN : Math.floor(Number(m![1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new InvalidArgumentError(`"${value}" is not a size in bytes (e.g. 500000000, 500MB, 2GiB).`);
  }
  return bytes;
}

/**
 * Parses `--workers` (serve's and consume's): a whole number, or `auto`, which worker_count.ts resolves once the
 * command runs.
 *
 * @example
 * ```ts
 * workersFlag("auto"); // "auto"
 * workersFlag("2"); // 2
 * ```
 */
export function workersFlag(value: string): WorkersFlag {
  return value === "auto" ? "auto" : wholeNumber(1)(value);
}

/**
 * `--workers` (`SCORE_WORKERS`) of `serve` and `consume`, `what` saying what a worker is; default `auto`.
 *
 * @example
 * ```ts
 * workersOption("threads that each load the models and serve on the one port");
 * ```
 */
export function workersOption(what: string): Option {
  return envOption("--workers <n|auto>", what, {
    env: "SCORE_WORKERS",
    parse: workersFlag,
    default: "auto",
    // Read when --help prints it, not each time the flag table is built: a run resolves auto itself, once.
    defaultHelp: () =>
      `auto, the CPUs this process may use, a cgroup CPU quota included, over --threads: ${usableCpus()} CPUs here`,
  });
}

/** Parses a TCP port to listen on: 0 (any free port) to 65535. */
export const portNumber: (value: string) => number = wholeNumber(0, 65_535);

/** Parses `a,b,c` into a list, dropping blanks. */
export function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(",").map((s) => s.trim()).filter((s) => s !== "")];
}

/** Parses repeatable `key=value[,key=value...]` into a record (`--rename a=b --rename c=d`, or `SCORE_RENAME=a=b,c=d`). */
export function pairs(value: string, previous: Record<string, string> = {}): Record<string, string> {
  return { ...previous, ...Object.fromEntries(value.split(",").map(pair)) };
}

/**
 * Parses a repeatable `name=value` into a list that keeps the order given
 * and every repeat (query parameters bind by position).
 *
 * @example
 * ```ts
 * envOption("--param <name=value>", "a query parameter (repeatable)", { parse: pairList });
 * ```
 */
export function pairList(value: string, previous: [string, string][] = []): [string, string][] {
  return [...previous, pair(value)];
}

function pair(text: string): [string, string] {
  const at = text.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`"${text}" is not of the form name=value.`);
  return [text.slice(0, at), text.slice(at + 1)];
}

/** The models shipped with score (inside the executable, for a compiled one). */
// Not node:url's fileURLToPath, nor node:path's join below: a `node:` module would start Deno's Node compatibility
// for `--help` (bench/NOTES.md).
const SHIPPED_MODELS = decodeURIComponent(new URL("../../models", import.meta.url).pathname);

/**
 * A model path as given, or, when nothing is there and it is a bare name,
 * the shipped model of that name: `--model churn` works from any folder.
 *
 * @example
 * ```ts
 * modelPath("ride-duration-linreg"); // ".../models/ride-duration-linreg"
 * ```
 */
export function modelPath(value: string): string {
  // `--model "$MODEL"` with MODEL unset: "" would name the shipped models' folder itself.
  if (value.trim() === "") {
    throw new InvalidArgumentError("an empty model: give a model directory, .onnx file, URI or shipped model's name.");
  }
  if (exists(value) || value.includes("/") || value.includes(":")) return value;
  const shipped = `${SHIPPED_MODELS}/${value}`;
  if (exists(shipped)) return shipped;
  if (/\.onnx$/i.test(value)) return value;
  throw new InvalidArgumentError(
    `"${value}" is neither a path nor a shipped model (the shipped models: ${shippedModels().join(", ")}).`,
  );
}

/** Whether anything is at `path` (Deno's own call: node:fs would start Deno's Node compatibility for `--help`). */
function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The names of the shipped models. */
export function shippedModels(): string[] {
  return [...Deno.readDirSync(SHIPPED_MODELS)]
    .filter((e) => e.isDirectory && exists(`${SHIPPED_MODELS}/${e.name}/model.onnx`))
    .map((e) => e.name)
    .sort();
}

/** `--model`, required unless the variable is set (or, with `required: false`, when given another way). */
export function modelOption({ required = true } = {}): Option {
  return envOption(
    "--model <uri>",
    "model directory (model.onnx + model.json), MLflow model directory, .onnx file, shipped model's name, " +
      "s3://bucket/prefix, or http(s):// URL; #name=<name> names it, #sha256=<hex> pins an .onnx file",
    { env: "SCORE_MODEL", parse: modelPath, required },
  );
}

/** The flags {@linkcode modelTuningOptions} adds, as the command line gives them. */
export interface ModelTuningFlags {
  threads: number;
  graphOptimization: string;
  rename?: Record<string, string>;
  cacheDir: string;
  modelTimeout: number;
  modelMaxBytes: number;
  /** Set by `--strict-categories` where a command takes it (batch, serve, consume). */
  strictCategories?: boolean;
}

/** Session options every command that loads a model takes. */
export function modelTuningOptions(): Option[] {
  return [
    envOption(
      "--threads <n>",
      "onnxruntime intra-op threads; 1 keeps a row's prediction bit-identical at any batch size, 0: one per core",
      { env: "SCORE_THREADS", parse: wholeNumber(0), default: 1 },
    ),
    envOption("--graph-optimization <level>", "onnxruntime graph optimisation level", {
      env: "SCORE_GRAPH_OPTIMIZATION",
      choices: ["disabled", "basic", "extended", "all"],
      default: "all",
    }),
    envOption("--rename <output=name>", "rename an output column (repeatable, or comma-separated)", {
      env: "SCORE_RENAME",
      parse: pairs,
    }),
    envOption("--cache-dir <dir>", "where models fetched from S3 or HTTP are kept (and served from when it is down)", {
      env: "SCORE_CACHE_DIR",
      default: defaultCacheDir(),
      defaultHelp: "$XDG_CACHE_HOME/score or ~/.cache/score",
    }),
    envOption("--model-timeout <seconds>", "the most fetching a model from S3 or HTTP may take, every file included", {
      env: "SCORE_MODEL_TIMEOUT",
      parse: wholeNumber(1),
      default: MODEL_TIMEOUT_SECONDS,
    }),
    envOption("--model-max-bytes <size>", "the most a model fetched from S3 or HTTP may hold, every file included", {
      env: "SCORE_MODEL_MAX_BYTES",
      parse: byteSize,
      default: MODEL_MAX_BYTES,
      defaultHelp: "2GiB",
    }),
  ];
}

/** `--amqp-url`: the broker `consume` and `publish` talk to. */
export function amqpUrlOption(): Option {
  return envOption("--amqp-url <url>", "the broker", { env: "AMQP_URL", default: "amqp://127.0.0.1:5672" });
}

/** `--exchange`: the events exchange `publish` writes to and `consume` reads from. */
export function exchangeOption(): Option {
  return envOption("--exchange <name>", "events exchange (durable topic, declared if missing)", {
    env: "SCORE_EXCHANGE",
    required: true,
  });
}

/** `--no-progress`: the long-running file commands (`batch`, `publish`) show progress unless told not to. */
export function progressOption(): Option {
  return envOption("--no-progress", "no progress bar or progress lines", { env: "SCORE_NO_PROGRESS" });
}

/**
 * `--strict-categories`: the commands that score (batch, serve, consume) reject a row whose category the model has
 * never seen. Unset, the manifest's `strictCategories` decides (default: score it as the model does).
 */
export function strictCategoriesOption(): Option {
  return envOption(
    "--strict-categories",
    "reject a row whose category (of a string or int64 input the model's encoders list) the model has never seen " +
      `(default: the manifest's "strictCategories", else score it as the model does)`,
    { env: "SCORE_STRICT_CATEGORIES" },
  );
}

/** Reads the model options back into the model store's options (S3 settings come from the AWS variables). */
export function resolveOptionsOf(
  opts: { cacheDir: string; modelTimeout?: number; modelMaxBytes?: number },
): ResolveOptions {
  return { cacheDir: opts.cacheDir, timeoutSeconds: opts.modelTimeout, maxBytes: opts.modelMaxBytes };
}

/** Reads the model tuning options back into `loadModel`'s options. */
export function loadOptionsOf(
  opts: { threads?: number; graphOptimization?: string; rename?: Record<string, string>; strictCategories?: boolean },
): LoadOptions {
  return {
    intraOpThreads: opts.threads,
    graphOptimization: opts.graphOptimization as LoadOptions["graphOptimization"],
    renames: opts.rename,
    ...(opts.strictCategories ? { strictCategories: true } : {}),
  };
}

/** The flags {@linkcode onlineOptions} adds, as the command line gives them. */
export interface OnlineFlags extends ModelTuningFlags {
  reloadInterval: number;
  maxBatchSize: number;
  maxBatchDelayMs: number;
}

/**
 * What the online commands (serve, consume) share after their own options:
 * `--reload-interval` (besides SIGHUP), the dynamic batching, which differs
 * only in how long a lone request should wait for company, and the model
 * tuning options.
 *
 * @example
 * ```ts
 * cmd.addOptions([modelOption(), ...onlineOptions({ unit: "events", delayMs: 2 })]);
 * ```
 */
export function onlineOptions(defaults: { unit: string; delayMs: number; maxBatch?: number }): Option[] {
  return [
    envOption(
      "--reload-interval <seconds>",
      "also look for new versions of the models every so many seconds (0: only on SIGHUP)",
      { env: "SCORE_RELOAD_INTERVAL", parse: wholeNumber(0), default: 0 },
    ),
    envOption("--max-batch-size <n>", `most ${defaults.unit} merged into one model run`, {
      env: "SCORE_MAX_BATCH_SIZE",
      parse: wholeNumber(1),
      default: defaults.maxBatch ?? 256,
    }),
    envOption(
      "--max-batch-delay-ms <ms>",
      `how long the first waiting ${defaults.unit} wait for others (0: no wait, but what arrived together, or during a run, runs together)`,
      { env: "SCORE_MAX_BATCH_DELAY_MS", parse: wholeNumber(0), default: defaults.delayMs },
    ),
    strictCategoriesOption(),
    ...modelTuningOptions(),
  ];
}

/**
 * A `--<what>-format` option: the file format when the extension does not tell.
 *
 * @example
 * ```ts
 * cmd.addOption(formatOption("input"));  // --input-format, SCORE_INPUT_FORMAT
 * ```
 */
export function formatOption(what: "input" | "output" | "rejects"): Option {
  return envOption(`--${what}-format <format>`, `${what} format, when the extension does not tell`, {
    env: `SCORE_${what.toUpperCase()}_FORMAT`,
    choices: FILE_FORMATS,
  });
}
