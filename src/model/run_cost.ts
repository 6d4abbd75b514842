/**
 * What a model costs a row, measured at load: the time of a run of rows of
 * zeros, the fastest of a few after a first (warm-up) one. `loadModel`'s
 * `worker: "auto"` weighs it against what a worker costs, so it needs to
 * be precise only for a cheap model: a run far over `enough` ends it.
 */
import type * as ort from "onnxruntime-node";
import type { DescribedSession } from "./session_client.ts";
import type { InputSpec } from "./specs.ts";
import { zeroFeeds } from "./zero_feeds.ts";

/** Rows in each timed run (a model that fixes its batch size runs that many). */
const PROBE_ROWS = 2048;
/** Rows in each timed run less its fixed part: a difference of two times is noisier, so it is spread over more rows. */
const LESS_FIXED_ROWS = 4 * PROBE_ROWS;
/**
 * At most this much of a one-row run is taken off as a worker's messages (a fraction of it on a quiet machine): what
 * a run costs beyond it is the model's own work on every run, however few its rows, which makes it heavy too.
 */
const MESSAGES_MS = 1;
/**
 * Timed runs at most, after the warm-up: the fastest is kept, the others having met a busy machine (a run's time
 * includes the wait for its turn on the event loop). Each ends the probe once its answer is beyond doubt.
 */
const PROBE_RUNS = 8;

/**
 * Microseconds a row takes to score, on rows of zeros; undefined when such a run fails (a model that refuses
 * zeros). A timed run that takes `enough` microseconds a row or more is the answer at once, and so is one under
 * `little`: a heavy model costs the warm-up and one run of 2,048 rows, a light one on a quiet machine two, and only
 * a busy machine takes all the runs. With `lessFixed`, the fastest one-row run's time (what a run costs however few
 * its rows: a worker's two messages), up to {@linkcode MESSAGES_MS}, is taken off each run, of 8,192 rows then.
 *
 * @example
 * ```ts
 * await runCost(session, model.inputs, null, ["duration"]); // 0.11
 * await runCost(session, model.inputs, null, ["duration"], 1, 0.05); // stops at the first run over 1 us a row or under 0.05
 * await runCost(workerSession, model.inputs, null, ["duration"], 1, 0.05, { lessFixed: true }); // less its messages
 * ```
 */
export async function runCost(
  session: DescribedSession,
  inputs: readonly InputSpec[],
  fixedBatch: number | null,
  outputs: readonly string[],
  enough = Infinity,
  little = 0,
  options: { lessFixed?: boolean } = {},
): Promise<number | undefined> {
  const rows = fixedBatch ?? (options.lessFixed ? LESS_FIXED_ROWS : PROBE_ROWS);
  // What any run costs however few its rows (a worker's two messages), taken off each timed run, when asked.
  const oneRow = options.lessFixed && fixedBatch === null ? await fastestRun(session, inputs, 1, outputs) : 0;
  if (oneRow === undefined) return undefined;
  const perRow = (ms: number) => (ms * 1000) / rows;
  const best = await fastestRun(session, inputs, rows, outputs, {
    lessMs: Math.min(oneRow, MESSAGES_MS),
    done: (ms) => perRow(ms) >= enough || perRow(ms) < little,
  });
  return best === undefined ? undefined : perRow(best);
}

/**
 * Milliseconds the fastest of the timed runs of `rows` rows of zeros takes (after a warm-up), `lessMs` off each; the
 * runs end early once `done` says so of the fastest yet. Undefined when a run fails.
 */
async function fastestRun(
  session: DescribedSession,
  inputs: readonly InputSpec[],
  rows: number,
  outputs: readonly string[],
  o: { lessMs?: number; done?: (bestMs: number) => boolean } = {},
): Promise<number | undefined> {
  const feeds = zeroFeeds(inputs, rows);
  try {
    let best = Infinity;
    for (let run = 0; run <= PROBE_RUNS; run++) {
      const took = await timedRun(session, feeds, outputs);
      if (run === 0) continue;
      best = Math.min(best, Math.max(0, took - (o.lessMs ?? 0)));
      if (o.done?.(best)) break;
    }
    return best;
  } catch {
    return undefined;
  } finally {
    for (const t of Object.values(feeds)) t.dispose();
  }
}

async function timedRun(
  session: DescribedSession,
  feeds: Record<string, ort.Tensor>,
  outputs: readonly string[],
): Promise<number> {
  const started = performance.now();
  const results = await session.run(feeds, outputs);
  const took = performance.now() - started;
  for (const t of Object.values(results)) (t as ort.Tensor).dispose();
  return took;
}
