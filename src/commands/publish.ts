/**
 * `score publish`: the backend's side of the stream, for demos, load tests
 * and replays. The composition root reads flags, opens the file with the
 * same readers as `score batch`, shapes rows as the course's events and
 * publishes them with confirms and a progress display.
 */
import { Command } from "../cli/command.ts";
import { envOption } from "../cli/env_option.ts";
import { listenForInterrupt } from "../cli/interrupt.ts";
import { amqpUrlOption, exchangeOption, formatOption, list, progressOption, wholeNumber } from "../cli/options.ts";
import { startProgress } from "../cli/progress.ts";
import { fileFormat } from "../file_format.ts";
import { log, redact } from "../log.ts";
import { lazyImport } from "../lazy_import.ts";
import type * as Queue from "../queue/mod.ts";
// The file, not queue/mod.ts: shaping rows into events needs none of the AMQP client's code.
import { type RowEvent, rowEvents } from "../queue/row_events.ts";
import type { ValueType } from "../rows.ts";
import { openSource, type Source } from "../sources/mod.ts";

/** Unreadable rows logged before the rest are only counted. */
const LOGGED_REJECTS = 20;

interface PublishFlags {
  input: string;
  inputFormat?: string;
  amqpUrl: string;
  exchange: string;
  routingKey: string;
  envelope: string | false;
  idColumn: string;
  columns?: string[];
  limit?: number;
  batchSize: number;
  window: number;
  progress: boolean;
}

/**
 * The `publish` command.
 *
 * @example
 * ```sh
 * score publish --input rides.parquet --exchange rides --columns PULocationID,DOLocationID,trip_distance --limit 1000
 * ```
 */
export function publishCommand(): Command {
  const cmd = new Command("publish", {
    description: 'Publish the rows of a file as events ({"ride": {...}, "ride_id": ...}) with publisher confirms; ' +
      "an event no queue is bound for is returned by the broker and stops the run (exit 69).",
  });
  cmd.addOptions([
    envOption(
      "--input <path>",
      "rows to publish: .parquet, .csv, .jsonl, .json (JSON lines or an array), or - for stdin",
      {
        env: "SCORE_INPUT",
        required: true,
      },
    ),
    formatOption("input"),
    amqpUrlOption(),
    exchangeOption(),
    envOption("--routing-key <key>", "routing key of every event", { env: "SCORE_ROUTING_KEY", default: "event" }),
    envOption("--envelope <key>", "the key the row's columns go under", { env: "SCORE_ENVELOPE", default: "ride" }),
    envOption("--no-envelope", "put the columns at the top level of the event"),
    envOption("--id-column <name>", "column holding the event id (message_id); the row number when the file has none", {
      env: "SCORE_ID_COLUMN",
      default: "ride_id",
    }),
    envOption("--columns <names>", "only these columns, comma-separated (besides the id)", {
      env: "SCORE_COLUMNS",
      parse: list,
    }),
    envOption("--limit <n>", "publish at most this many rows", { env: "SCORE_LIMIT", parse: wholeNumber(1) }),
    envOption("--batch-size <n>", "rows read at a time", {
      env: "SCORE_BATCH_SIZE",
      parse: wholeNumber(1),
      default: 10_000,
    }),
    envOption("--window <n>", "most messages awaiting a confirm", {
      env: "SCORE_PUBLISH_WINDOW",
      parse: wholeNumber(1),
      default: 1000,
    }),
    progressOption(),
  ]);
  return cmd
    .action(async (flags: PublishFlags) => {
      const source = await openSource(flags.input, flags.inputFormat, undefined, "--input-format");
      const { publishEvents } = await lazyImport<typeof Queue>(new URL("../queue/mod.ts", import.meta.url));
      const stop = listenForInterrupt({ stopping: "stopping after the confirms awaited" });
      try {
        const started = performance.now();
        const counts = { read: 0, published: 0, rejected: 0 };
        const progress = flags.progress ? await startProgress("publishing", () => source.progress?.()) : undefined;
        log.info("publish started", {
          input: source.description,
          url: redact(flags.amqpUrl),
          exchange: flags.exchange,
        });
        const published = await publishEvents({
          url: flags.amqpUrl,
          exchange: flags.exchange,
          routingKey: flags.routingKey,
          events: readEvents(source, flags, counts),
          window: flags.window,
          signal: stop.signal,
          exchangeFlags: { "--exchange": flags.exchange },
          onConfirmed: (n) => {
            counts.published = n;
            progress?.update(counts);
          },
        }).finally(() => progress?.stop());
        const seconds = (performance.now() - started) / 1000;
        log.info(stop.signal.aborted ? "publish interrupted" : "publish done", {
          exchange: flags.exchange,
          published,
          unreadable: counts.rejected,
          seconds: Math.round(seconds * 1000) / 1000,
          events_per_s: Math.round(published / seconds),
        });
      } finally {
        stop.dispose();
        await source.close();
      }
    });
}

async function* readEvents(
  source: Source,
  flags: PublishFlags,
  counts: { read: number; rejected: number },
): AsyncGenerator<RowEvent[]> {
  const types: Record<string, ValueType> = Object.fromEntries(source.columns.map((c) => [c.name, c.type]));
  const hasId = flags.idColumn in types;
  if (!hasId) log.info(`no column "${flags.idColumn}" in the input: the row number is the event id`);
  const columns = flags.columns && (hasId ? [...new Set([...flags.columns, flags.idColumn])] : flags.columns);
  const shape = {
    envelope: flags.envelope || "",
    idColumn: flags.idColumn,
    inferNumbers: fileFormat(flags.input, flags.inputFormat, "--input-format") === "csv",
  };
  for await (const batch of source.batches({ batchSize: flags.batchSize, columns })) {
    for (const r of batch.rejects ?? []) {
      if (counts.rejected++ < LOGGED_REJECTS) log.warn("row unreadable; skipped", { row: r.row, error: r.message });
    }
    let events = rowEvents(batch, types, shape);
    if (flags.limit !== undefined && counts.read + events.length > flags.limit) {
      events = events.slice(0, flags.limit - counts.read);
    }
    counts.read += events.length;
    yield events;
    if (flags.limit !== undefined && counts.read >= flags.limit) return;
  }
}
