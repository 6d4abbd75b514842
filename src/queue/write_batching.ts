/**
 * The one adapter over amqplib's internals: its connection writes each
 * frame to the socket on its own (one system call, and with TCP_NODELAY one
 * segment, per publish or ack), from a muxer that drains every channel's
 * frames in one pass. Corking the socket around that pass sends them in
 * one write. Pinned by tests/queue/write_batching_test.ts.
 */
import type { ChannelModel } from "amqplib";

interface Internals {
  connection?: {
    muxer?: { _readIncoming?: () => void };
    stream?: { cork?: () => void; uncork?: () => void };
  };
}

/**
 * Makes `model`'s connection write the frames of one muxer pass together;
 * false (and the connection as it was) when amqplib's internals are not
 * what this expects.
 *
 * @example
 * ```ts
 * const connection = await connect(url, { noDelay: true });
 * batchWrites(connection); // true
 * ```
 */
export function batchWrites(model: ChannelModel): boolean {
  const connection = (model as unknown as Internals).connection;
  const muxer = connection?.muxer;
  const stream = connection?.stream;
  const read = muxer?._readIncoming;
  if (typeof read !== "function" || typeof stream?.cork !== "function" || typeof stream.uncork !== "function") {
    return false;
  }
  muxer!._readIncoming = function (this: unknown) {
    stream.cork!();
    try {
      read.call(muxer);
    } finally {
      stream.uncork!();
    }
  };
  return true;
}
