/**
 * An error thrown in a worker thread of `--workers` (serve's or consume's),
 * carried to the main thread as plain data and made again there, so that it
 * maps to the same exit code as in one thread.
 */
import { ScoreError, UsageError } from "../errors.ts";

/** What a worker posts when its service failed. */
export interface WorkerFailure {
  name: string;
  message: string;
  code?: string;
  status?: number;
  exitCode?: number;
}

/**
 * The error as data a worker can post.
 *
 * @example
 * ```ts
 * self.postMessage({ type: "failed", ...workerFailure(err) });
 * ```
 */
export function workerFailure(err: unknown): WorkerFailure {
  const e = err as Error & { code?: string; status?: number; exitCode?: number };
  return {
    name: e?.name ?? "Error",
    message: e?.message ?? String(err),
    code: e?.code,
    status: e?.status,
    exitCode: e?.exitCode,
  };
}

/**
 * A worker's error as the error it was.
 *
 * @example
 * ```ts
 * throw revive({ name: "UsageError", message: "Port 8080 is already in use" }); // exit 64, as in one thread
 * ```
 */
export function revive(m: WorkerFailure): Error {
  if (m.name === "UsageError") return new UsageError(m.message);
  if (m.code !== undefined && m.status !== undefined && m.exitCode !== undefined) {
    return Object.assign(new ScoreError(m.message, m.code, m.status, m.exitCode), { name: m.name });
  }
  return Object.assign(new Error(m.message), { name: m.name });
}
