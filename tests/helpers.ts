/**
 * What many tests share: where things are, random names for tables and
 * queues, and running the real `./score` launcher.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The shipped models. */
export const MODELS = join(ROOT, "models");
/** Committed fixtures. */
export const FIXTURES = join(ROOT, "tests", "fixtures");
/** The course's rides, customers and pickled models, shipped in `data/` (see data/README.md). */
export const DATA = join(ROOT, "data");

/** A name no other test run uses: `prefix_` + 10 random hex digits. */
export function randomName(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
}

/** A flag's value in {@linkcode cliArgs}: a list repeats the flag, `true` is a bare flag, `false` leaves it out. */
export type FlagValue = string | number | boolean | undefined | (string | number)[];

/**
 * Command-line arguments from flags and their values, in the order given.
 *
 * @example
 * ```ts
 * cliArgs({ "--model": "churn", "--max-errors": 1, "--no-progress": true });
 * // ["--model", "churn", "--max-errors", "1", "--no-progress"]
 * ```
 */
export function cliArgs(flags: Record<string, FlagValue>): string[] {
  return Object.entries(flags).flatMap(([flag, value]) =>
    value === true
      ? [flag]
      : value === false || value === undefined
      ? []
      : Array.isArray(value)
      ? value.flatMap((v) => [flag, String(v)])
      : [flag, String(value)]
  );
}

/**
 * The environment every `./score serve` and `./score consume` a test starts gets under the caller's own: one worker.
 * Their default (`--workers auto`: a thread per usable CPU, each loading the models) would make every server of the
 * suite that many, slower on a 2-core CI machine, and put workers under tests that are about something else; the tests
 * of the workers and of the default say `--workers` or unset this themselves.
 */
export const ONE_WORKER: Record<string, string> = { SCORE_WORKERS: "1" };

/**
 * A child `./score`'s environment, for `new Deno.Command`: this process's, then {@linkcode ONE_WORKER}, then `env`, in
 * which a variable set to `undefined` is left out (so a test of a default can unset what ONE_WORKER sets).
 *
 * @example
 * ```ts
 * new Deno.Command(join(ROOT, "score"), { args: ["serve", "--model", "churn"], ...scoreEnv({ SCORE_WORKERS: undefined }) });
 * ```
 */
export function scoreEnv(
  env: Record<string, string | undefined> = {},
): { env: Record<string, string>; clearEnv?: boolean } {
  const merged = { ...ONE_WORKER, ...env };
  const unset = Object.keys(merged).filter((k) => merged[k] === undefined);
  if (unset.length === 0) return { env: merged as Record<string, string> };
  const all: Record<string, string | undefined> = { ...Deno.env.toObject(), ...merged };
  return {
    clearEnv: true,
    env: Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<string, string>,
  };
}

/** The result of running `./score`. */
export interface ScoreRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `./score ...args` as a user would, to completion (with one worker unless `options.env` says otherwise: see
 * {@linkcode ONE_WORKER}), or until `options.timeoutMs` has passed: then it is killed.
 *
 * @example
 * ```ts
 * const { code, stderr } = await runScore(["batch", "--help"]);
 * ```
 */
export async function runScore(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<ScoreRun> {
  const out = await new Deno.Command(join(ROOT, "score"), {
    args,
    ...scoreEnv(options.env),
    cwd: options.cwd,
    // Past it the process is killed (a run that would hang fails instead).
    signal: options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * Runs `score profile` of the linear ride model over `input` (the pickup and drop-off zones categorical) into the
 * reference `output`, failing the test when it fails.
 *
 * @example
 * ```ts
 * await profileRides(join(DATA, "green_tripdata_2021-01.parquet"), join(dir.path, "reference.json"));
 * ```
 */
export async function profileRides(input: string, output: string): Promise<void> {
  const run = await runScore([
    "profile",
    ...cliArgs({
      "--model": join(MODELS, "ride-duration-linreg"),
      "--input": input,
      "--categorical": "PULocationID,DOLocationID",
      "--output": output,
      "--no-progress": true,
    }),
  ]);
  assert.equal(run.code, 0, run.stderr);
}

/** Parses the JSON log lines of a run's stderr. */
export function logLines(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** A fresh temporary folder, removed by the returned function. */
export async function tempDir(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: "score-test-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/**
 * The error `fn` rejects with; fails the test when it resolves. (JSR's
 * `@std/assert` is out of reach here, so tests use `node:assert/strict`.)
 *
 * @example
 * ```ts
 * const err = await rejection(() => loadModel("nope"));
 * ```
 */
export async function rejection(fn: () => Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof Error) return err as Error & Record<string, unknown>;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error("expected a rejection, but it resolved");
}

/**
 * The error `fn` throws; fails the test when it returns.
 *
 * @example
 * ```ts
 * const err = thrown(() => parseShard("3/2"));
 * ```
 */
export function thrown(fn: () => unknown): Error & Record<string, unknown> {
  try {
    fn();
  } catch (err) {
    if (err instanceof Error) return err as Error & Record<string, unknown>;
    throw new Error(`threw a non-Error: ${String(err)}`);
  }
  throw new Error("expected a throw, but it returned");
}

/**
 * Waits until `condition` holds, looking every 10 ms; fails naming `what`
 * past `timeoutMs`. For what a test must see happen (a log line, a status),
 * instead of a fixed sleep.
 *
 * @example
 * ```ts
 * await waitUntil(() => server.lines.some((l) => l.includes('"msg":"request"')), "the access log line");
 * ```
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
