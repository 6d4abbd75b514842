/**
 * One worker thread of `score serve --workers N` (started by
 * src/commands/serve_workers.ts): it runs the whole service, listening on
 * the shared port, and answers the main thread's requests for its metrics.
 */
/// <reference lib="deno.worker" />
import { InterruptedError } from "../errors.ts";
import type { Metrics } from "../serving/metrics.ts";
import { log } from "../log.ts";
import { runServe } from "./run_serve.ts";
import type { FromWorker, ToWorker } from "./serve_workers.ts";
import { workerFailure } from "./worker_failure.ts";

const post = (m: FromWorker) => self.postMessage(m);
let metrics: Metrics | undefined;
const pending = new Map<number, (text: string) => void>();
let nextId = 0;
const stop = new AbortController();

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const m = e.data;
  if (m.type === "stop") {
    if (!stop.signal.aborted) stop.abort(new InterruptedError(m.signal));
  } else if (m.type === "collect") {
    post({ type: "collected", id: m.id, metrics: metrics ? await metrics.registry.getMetricsAsJSON() : [] });
  } else if (m.type === "gathered") {
    pending.get(m.id)?.(m.text);
    pending.delete(m.id);
  } else if (m.type === "start") {
    // Logged as the main thread logs (text at a terminal, --log-level).
    log.setFormat(m.log.format);
    log.setLevel(m.log.level);
    try {
      const late = await runServe(m.flags, {
        index: m.index,
        stop: stop.signal,
        listening: (port) => post({ type: "listening", port }),
        metrics: (own) => {
          metrics = own;
          // /metrics here shows every worker's, summed by the main thread.
          own.renderWith(() => {
            const id = nextId++;
            const text = new Promise<string>((resolve) => pending.set(id, resolve));
            post({ type: "gather", id });
            return text;
          });
        },
      });
      post({ type: "stopped", late });
    } catch (err) {
      post({ type: "failed", ...workerFailure(err) });
    }
  }
};
