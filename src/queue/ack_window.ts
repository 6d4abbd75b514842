/**
 * Acks a channel's deliveries in as few frames as it can. The loop marks
 * each event acked once what its verdict published is confirmed; the
 * window sends, at the end of the tick, one `basic.ack` with `multiple`
 * for the longest run of settled deliveries from the oldest one still
 * open, and single acks for settled ones behind an event still in flight.
 * A multiple ack never covers an event that is not settled: nothing is
 * acked before its prediction is confirmed.
 */
import { setImmediate } from "node:timers";

/** A delivery as amqplib hands it (only its tag matters here). */
export interface Delivery {
  fields: { deliveryTag: number };
}

/** Where the acks go: amqplib's `channel.ack(message, allUpTo)`. */
export interface Acker<M extends Delivery> {
  ack(message: M, allUpTo?: boolean): void;
}

/**
 * The acks of one channel.
 *
 * @example
 * ```ts
 * const acks = new AckWindow(channel);
 * acks.delivered(m1); acks.delivered(m2);
 * acks.ack(m2); acks.ack(m1); // one frame, at the end of the tick: ack m2 with multiple
 * ```
 */
export class AckWindow<M extends Delivery> {
  readonly #acker: Acker<M>;
  /** Open deliveries, oldest first (tags grow on a channel); `#head` is the first not yet left behind. */
  #open: M[] = [];
  #head = 0;
  /** Settled and waiting for the flush, by tag. */
  readonly #settled = new Map<number, M>();
  /** Left without an ack by this window (nacked, or acked alone): skipped when the run reaches them. */
  readonly #gone = new Set<number>();
  #scheduled = false;
  /** Once closed, nothing more is sent (the channel's unacked deliveries go back to the queue). */
  #closed = false;

  constructor(acker: Acker<M>) {
    this.#acker = acker;
  }

  /** A delivery arrived (in the order the channel delivers). */
  delivered(m: M): void {
    this.#open.push(m);
  }

  /** Its verdict is carried out and confirmed: acked at the end of the tick. */
  ack(m: M): void {
    this.#settled.set(m.fields.deliveryTag, m);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.flush();
      });
    }
  }

  /** It was nacked (or rejected) by the caller: the run passes over it. */
  forget(m: M): void {
    this.#gone.add(m.fields.deliveryTag);
  }

  /** Sends what is settled now. */
  flush(): void {
    if (this.#closed || this.#settled.size === 0) return;
    let last: M | undefined;
    while (this.#head < this.#open.length) {
      const tag = this.#open[this.#head].fields.deliveryTag;
      if (this.#gone.delete(tag)) {
        this.#head++;
      } else if (this.#settled.has(tag)) {
        last = this.#settled.get(tag);
        this.#settled.delete(tag);
        this.#head++;
      } else break;
    }
    if (last !== undefined) this.#acker.ack(last, true);
    // Settled behind one still in flight: acked alone, so that the broker may hand over more meanwhile.
    for (const [tag, m] of this.#settled) {
      this.#acker.ack(m, false);
      this.#gone.add(tag);
    }
    this.#settled.clear();
    if (this.#head > 1024 && this.#head * 2 > this.#open.length) {
      this.#open = this.#open.slice(this.#head);
      this.#head = 0;
    }
  }

  /** The channel is gone: send nothing more. */
  close(): void {
    this.#closed = true;
    this.#settled.clear();
  }
}
