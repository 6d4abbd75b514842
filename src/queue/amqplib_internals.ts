/**
 * The one adapter over amqplib's internals, pinned by
 * tests/queue/amqplib_internals_test.ts:
 * - its connection writes each frame to the socket on its own (one system
 *   call, and with TCP_NODELAY one segment, per publish or ack), from a
 *   muxer that drains every channel's frames in one pass. Corking the
 *   socket around that pass sends them in one write;
 * - its `close()` waits for the broker's answer, for ever: a broker that
 *   stopped answering (a hung node, a stalled proxy, flow control) is let
 *   go by destroying the socket.
 */
import type { ChannelModel } from "amqplib";

interface Internals {
  connection?: {
    muxer?: { _readIncoming?: () => void };
    stream?: { cork?: () => void; uncork?: () => void; destroy?: (err?: Error) => void };
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

/**
 * Drops `model`'s connection at once, without the closing handshake (its
 * channels and connection then emit their close events); false when
 * amqplib's internals are not what this expects.
 *
 * @example
 * ```ts
 * const closed = await settleWithin(connection.close().then(() => true), 2_000);
 * if (!closed) destroySocket(connection);
 * ```
 */
export function destroySocket(model: ChannelModel): boolean {
  const stream = (model as unknown as Internals).connection?.stream;
  if (typeof stream?.destroy !== "function") return false;
  // With an error: amqplib hears of a socket closed without one only when the broker ends it.
  stream.destroy(new Error("connection dropped (the broker did not answer in time)"));
  return true;
}
