/**
 * A wait that an abort signal cuts short: a job told to stop must not sit
 * behind a read or a write that never ends.
 */

/**
 * `work`, or `signal`'s reason as soon as it aborts (the work itself goes
 * on; the caller then closes whatever it was waiting for).
 *
 * @example
 * ```ts
 * const batch = await abortable(batches.next(), signal);
 * ```
 */
export function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}

/**
 * `work`'s value, or undefined once `ms` pass or `signal` aborts, whichever
 * comes first (a rejection of `work` is passed on): a bounded wait that,
 * unlike {@linkcode abortable}, gives up without an error.
 *
 * @example
 * ```ts
 * const flushed = await settleWithin(log.flush().then(() => true), 5_000);
 * ```
 */
export async function settleWithin<T>(work: Promise<T>, ms: number, signal?: AbortSignal): Promise<T | undefined> {
  let done = () => {};
  const over = new Promise<undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    const abort = () => resolve(undefined);
    signal?.addEventListener("abort", abort, { once: true });
    if (signal?.aborted) abort();
    done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
    };
  });
  try {
    return await Promise.race([work, over]);
  } finally {
    done();
  }
}
