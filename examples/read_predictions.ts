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
 * `--purge` empties the queue (a previous run's predictions) and exits.
 * `AMQP_URL` (or `--amqp-url`) names the broker.
 */
import { connect } from "amqplib";
import { parseArgs } from "node:util";

const USAGE = `usage: read_predictions.ts --queue <name> [--limit <n>] [--purge] [--amqp-url <url>]

Prints the predictions waiting in a queue (score consume --prediction-queue <name>), one JSON line each, and acks each
once printed.
  --queue <name>    the queue to read
  --limit <n>       stop after n predictions (default: read until Ctrl-C)
  --purge           drop what the queue holds (a previous run's predictions) and exit
  --amqp-url <url>  the broker (default: $AMQP_URL, else amqp://127.0.0.1:5672)`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      queue: { type: "string" },
      limit: { type: "string" },
      purge: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      "amqp-url": { type: "string", default: Deno.env.get("AMQP_URL") ?? "amqp://127.0.0.1:5672" },
    },
  }));
} catch (err) {
  console.error(`${(err as Error).message}\n\n${USAGE}`);
  Deno.exit(64);
}
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (!values.queue) {
  console.error(USAGE);
  Deno.exit(64);
}
const limit = values.limit === undefined ? Infinity : Number(values.limit);
if (!(Number.isInteger(limit) && limit >= 1) && limit !== Infinity) {
  console.error(`--limit ${values.limit} is not a whole number >= 1\n\n${USAGE}`);
  Deno.exit(64);
}

const connection = await connect(values["amqp-url"]!, { clientProperties: { connection_name: "read_predictions" } });
const channel = await connection.createChannel();
// Fails (404) when the queue does not exist: start `score consume --prediction-queue` first.
await channel.checkQueue(values.queue);
if (values.purge) {
  const { messageCount } = await channel.purgeQueue(values.queue);
  console.error(`purged ${messageCount} predictions from ${values.queue}`);
  await connection.close();
  Deno.exit(0);
}
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
