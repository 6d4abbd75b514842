/**
 * SIGTERM/SIGINT for jobs that run to an end (batch, publish): the first
 * signal aborts the returned signal, so the job abandons the read or write
 * in progress and aborts its sinks (no temporary file left, no transaction
 * committed); a second one, or {@linkcode STOP_TIMEOUT_MS} without an end,
 * exits at once, whatever I/O is still pending.
 */
import { InterruptedError } from "../errors.ts";
import { log } from "../log.ts";

/** How long a job may take to stop after the first signal before the process exits anyway. */
export const STOP_TIMEOUT_MS = 10_000;

/** A live listener: pass `signal` to the job, `dispose` when it is done. */
export interface Interrupt {
  signal: AbortSignal;
  dispose(): void;
}

/**
 * Listens for SIGTERM and SIGINT until disposed.
 *
 * @example
 * ```ts
 * const interrupt = listenForInterrupt();
 * try {
 *   await runBatch({ ...job, signal: interrupt.signal });
 * } finally {
 *   interrupt.dispose();
 * }
 * ```
 */
export function listenForInterrupt(stopTimeoutMs = STOP_TIMEOUT_MS): Interrupt {
  const controller = new AbortController();
  const listeners = (["SIGTERM", "SIGINT"] as const).map((name) => {
    const listener = () => {
      const error = new InterruptedError(name);
      if (controller.signal.aborted) {
        log.error(`${name} again: exiting without cleaning up`);
        Deno.exit(error.exitCode);
      }
      log.warn(`${name}: stopping; nothing of this run will be committed`);
      controller.abort(error);
      const timer = setTimeout(() => {
        log.error(`${name}: not stopped after ${stopTimeoutMs / 1000} s: exiting without cleaning up`);
        Deno.exit(error.exitCode);
      }, stopTimeoutMs);
      Deno.unrefTimer(timer);
    };
    Deno.addSignalListener(name, listener);
    return [name, listener] as const;
  });
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
    },
  };
}
