/**
 * A decision service's inbox, in a few lines: reads the predictions that
 * `score consume --prediction-queue <name>` keeps in a durable queue, prints
 * each as one JSON line on stdout and acks it once printed.
 *
 * @example
 * ```sh
 * ./scripts/deno run -A examples/read_predictions.ts --queue decisions --limit 3
 * ```
 *
 * `--limit n` stops after n predictions; without it, it reads until Ctrl-C.
 * `AMQP_URL` (or `--amqp-url`) names the broker.
 */
import { connect } from "amqplib";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    queue: { type: "string" },
    limit: { type: "string" },
    "amqp-url": { type: "string", default: Deno.env.get("AMQP_URL") ?? "amqp://127.0.0.1:5672" },
  },
});
if (!values.queue) {
  console.error("usage: read_predictions.ts --queue <name> [--limit <n>] [--amqp-url <url>]");
  Deno.exit(64);
}
const limit = values.limit === undefined ? Infinity : Number(values.limit);

const connection = await connect(values["amqp-url"]!, { clientProperties: { connection_name: "read_predictions" } });
const channel = await connection.createChannel();
// Fails (404) when the queue does not exist: start `score consume --prediction-queue` first.
await channel.checkQueue(values.queue);
await channel.prefetch(Number.isFinite(limit) ? Math.min(limit, 1000) : 100);

let read = 0;
const done = Promise.withResolvers<void>();
const { consumerTag } = await channel.consume(values.queue, (m) => {
  if (m === null || read >= limit) return; // the queue was deleted, or more arrived than asked for
  console.log(m.content.toString());
  channel.ack(m);
  if (++read >= limit) done.resolve();
});
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => done.resolve());
await done.promise;
// Predictions delivered past the limit are not acked: the broker gives them to the next reader.
await channel.cancel(consumerTag);
await connection.close();
Deno.exit(0);
