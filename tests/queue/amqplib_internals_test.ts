/**
 * Pins the amqplib internals src/queue/amqplib_internals.ts relies on: its
 * connection's muxer and socket. With the writes batched, a burst of
 * publishes reaches the socket in a few writes, and every message arrives;
 * a destroyed socket closes the connection at once.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect } from "amqplib";
import { batchWrites, destroySocket } from "../../src/queue/amqplib_internals.ts";
import { AMQP_URL, TestBroker } from "./broker.ts";

Deno.test("amqplib writes batched (real RabbitMQ)", async (t) => {
  for (const batched of [false, true]) {
    await t.step(`${batched ? "batched" : "as amqplib does"}: 500 publishes of one tick`, async () => {
      await using broker = await TestBroker.open();
      const queue = await broker.queue(await broker.exchange("batched"));
      const collected = await broker.collect(queue);
      const connection = await connect(AMQP_URL, { noDelay: true });
      try {
        if (batched) assert.equal(batchWrites(connection), true, "amqplib's muxer and socket are where expected");
        const channel = await connection.createConfirmChannel();
        // Every socket write, counted where the stream hands it to the socket.
        const stream = (connection as unknown as { connection: { stream: Record<string, unknown> } }).connection.stream;
        let writes = 0;
        for (const name of ["_write", "_writev"]) {
          const original = stream[name] as (...args: unknown[]) => unknown;
          stream[name] = function (this: unknown, ...args: unknown[]) {
            writes++;
            return original.apply(this, args);
          };
        }
        for (let i = 0; i < 500; i++) channel.sendToQueue(queue, Buffer.from(String(i)), { persistent: true });
        await channel.waitForConfirms();
        await collected.waitFor(500);
        assert.deepEqual(collected.messages.map((m) => Number(m.content.toString())), [...Array(500).keys()]);
        if (batched) assert.ok(writes < 50, `${writes} socket writes for 500 publishes`);
        else assert.ok(writes >= 400, `amqplib writes each frame alone (${writes} writes): batching still helps`);
      } finally {
        await connection.close();
      }
    });
  }
});

Deno.test("amqplib's socket destroyed: the connection closes at once, with its close event (real RabbitMQ)", async () => {
  const connection = await connect(AMQP_URL);
  const closed = new Promise<void>((resolve) => connection.once("close", () => resolve()));
  connection.on("error", () => {});
  assert.equal(destroySocket(connection), true, "amqplib's socket is where expected");
  await closed;
  await assert.rejects(connection.createChannel());
});
