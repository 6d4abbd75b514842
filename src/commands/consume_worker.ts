/**
 * One worker thread of `score consume --workers N` (started by
 * src/commands/consume_workers.ts): a whole consumer of the shared queue,
 * which answers the main thread's requests for its metrics.
 */
/// <reference lib="deno.worker" />
import { InterruptedError } from "../errors.ts";
import { log } from "../log.ts";
import type { ConsumerMetrics } from "../queue/consumer_metrics.ts";
import { runConsume } from "./run_consume.ts";
import type { FromConsumeWorker, ToConsumeWorker } from "./consume_workers.ts";
import { workerFailure } from "./worker_failure.ts";

const post = (m: FromConsumeWorker) => self.postMessage(m);
let metrics: ConsumerMetrics | undefined;
const stop = new AbortController();

self.onmessage = async (e: MessageEvent<ToConsumeWorker>) => {
  const m = e.data;
  if (m.type === "stop") {
    if (!stop.signal.aborted) stop.abort(new InterruptedError(m.signal));
  } else if (m.type === "collect") {
    post({
      type: "collected",
      id: m.id,
      metrics: metrics ? await metrics.registry.getMetricsAsJSON() : [],
      connected: metrics?.connected ?? false,
    });
  } else if (m.type === "start") {
    // Logged as the main thread logs (text at a terminal, --log-level).
    log.setFormat(m.log.format);
    log.setLevel(m.log.level);
    try {
      await runConsume(m.flags, {
        index: m.index,
        stop: stop.signal,
        metrics: (own) => {
          metrics = own;
          post({ type: "metrics", model: own.model });
        },
      });
      post({ type: "stopped" });
    } catch (err) {
      post({ type: "failed", ...workerFailure(err) });
    }
  }
};
