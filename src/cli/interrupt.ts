/**
 * SIGTERM and SIGINT, the same way in every command: the first signal
 * aborts the returned signal (its reason an `InterruptedError` naming the
 * signal) and the command stops its own way (batch aborts its sinks and
 * commits nothing, serve drains, consume finishes the events in flight,
 * publish stops after the confirms it awaits); a second signal exits at
 * once with the signal's exit code (130 for SIGINT, 143 for SIGTERM),
 * whatever is still pending. With `stopTimeoutMs`, a command that has not
 * stopped that long after the first signal exits the same way.
 */
import { InterruptedError } from "../errors.ts";
import { log } from "../log.ts";

/** How long a batch job may take to stop after the first signal before the process exits anyway. */
export const STOP_TIMEOUT_MS = 10_000;

/** How the first signal is answered. */
export interface InterruptOptions {
  /** Logged (as a warning, after the signal's name) at the first signal. */
  stopping?: string;
  /** After the first signal, how long the command may take to stop before the process exits (default: no limit). */
  stopTimeoutMs?: number;
}

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
 * const interrupt = listenForInterrupt({ stopping: "stopping", stopTimeoutMs: STOP_TIMEOUT_MS });
 * try {
 *   await runBatch({ ...job, signal: interrupt.signal });
 * } finally {
 *   interrupt.dispose();
 * }
 * ```
 */
export function listenForInterrupt(options: InterruptOptions = {}): Interrupt {
  const controller = new AbortController();
  const listeners = (["SIGTERM", "SIGINT"] as const).map((name) => {
    const listener = () => {
      const error = new InterruptedError(name);
      if (controller.signal.aborted) {
        log.error(`${name} again: exiting at once`);
        Deno.exit(error.exitCode);
      }
      // A person at the terminal pressed Ctrl-C: tell them how not to wait.
      const again = name === "SIGINT" && pressedAtTerminal() ? " (Ctrl-C again exits at once)" : "";
      log.warn(`${name}: ${options.stopping ?? "stopping"}${again}`);
      controller.abort(error);
      const limit = options.stopTimeoutMs;
      if (limit !== undefined && limit > 0) {
        const timer = setTimeout(() => {
          log.error(`${name}: not stopped after ${limit / 1000} s: exiting at once`);
          Deno.exit(error.exitCode);
        }, limit);
        Deno.unrefTimer(timer);
      }
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

/**
 * Whether a SIGINT most likely came from Ctrl-C at a terminal (stdin is
 * one) rather than from a supervisor, which sends SIGTERM and reads no
 * terminal.
 *
 * @example
 * ```ts
 * const delay = signal === "SIGINT" && pressedAtTerminal() ? 0 : drainDelay;
 * ```
 */
export function pressedAtTerminal(): boolean {
  return Deno.stdin.isTerminal();
}
