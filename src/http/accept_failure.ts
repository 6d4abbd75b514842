/**
 * What a failed accept (or a watchdog's connect) was, said the same way by
 * every listener: running out of file descriptors is the one failure they
 * recover from on purpose, so it is told by name.
 */

/** The reason logged for a process out of file descriptors. */
export const OUT_OF_DESCRIPTORS = "out of file descriptors (EMFILE)";

/**
 * Why an accept failed, as a log line's `reason`.
 *
 * @example
 * ```ts
 * acceptFailure(new Error("Too many open files (os error 24)")); // "out of file descriptors (EMFILE)"
 * acceptFailure(new Error("boom")); // "Error: boom"
 * ```
 */
export function acceptFailure(err: unknown): string {
  return /os error 24|too many open files/i.test(String(err)) ? OUT_OF_DESCRIPTORS : String(err);
}
