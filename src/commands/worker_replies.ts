/**
 * A question put to every worker of `--workers` (serve's or consume's: "your
 * metrics?"), and the answers gathered: all of them, or those that came
 * within a bound, so that a worker stuck in a long model run delays a scrape
 * by the bound at most.
 */

/** Anything a message can be posted to (a `Worker`). */
export interface Postable {
  postMessage(message: unknown): void;
}

/**
 * Asks and gathers; the main thread's `onmessage` hands each answer to `answer`.
 *
 * @example
 * ```ts
 * const replies = new WorkerReplies<MetricsJson>();
 * worker.onmessage = (e) => e.data.type === "collected" && replies.answer(e.data.id, e.data.metrics);
 * const all = await replies.ask(workers, (id) => ({ type: "collect", id }), 2000);
 * ```
 */
export class WorkerReplies<T> {
  #waiting = new Map<number, (answer: T) => void>();
  #next = 0;

  /** Posts `question(id)` to each worker; resolves with the answers once all came or `timeoutMs` passed. */
  ask(workers: readonly Postable[], question: (id: number) => unknown, timeoutMs: number): Promise<T[]> {
    const id = this.#next++;
    const got: T[] = [];
    const { promise, resolve } = Promise.withResolvers<T[]>();
    const finish = () => {
      clearTimeout(timer);
      this.#waiting.delete(id);
      resolve(got);
    };
    const timer = setTimeout(finish, timeoutMs);
    this.#waiting.set(id, (answer) => {
      got.push(answer);
      if (got.length === workers.length) finish();
    });
    if (workers.length === 0) finish();
    for (const w of workers) w.postMessage(question(id));
    return promise;
  }

  /** One worker's answer to question `id` (dropped when the question is closed). */
  answer(id: number, value: T): void {
    this.#waiting.get(id)?.(value);
  }
}
