/**
 * SIGTERM/SIGINT for jobs that run to an end (batch, publish): the first
 * signal aborts the returned signal, so the job stops between two batches
 * and aborts its sinks (no temporary file left, no transaction committed);
 * a second one exits at once.
 */
import { InterruptedError } from "../errors.ts";
import { log } from "../log.ts";

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
export function listenForInterrupt(): Interrupt {
  const controller = new AbortController();
  const listeners = (["SIGTERM", "SIGINT"] as const).map((name) => {
    const listener = () => {
      const error = new InterruptedError(name);
      if (controller.signal.aborted) {
        log.error(`${name} again: exiting without cleaning up`);
        Deno.exit(error.exitCode);
      }
      log.warn(`${name}: stopping after the batch in progress; nothing of this run will be committed`);
      controller.abort(error);
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
