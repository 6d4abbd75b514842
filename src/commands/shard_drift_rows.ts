/**
 * The drift rows the shards of a sharded `score batch --monitor` wrote for
 * one window, read back from their JSON-lines files or their Postgres table
 * through the sources `score batch` reads with.
 */
import type { Window } from "../batch/period_window.ts";
import { InputError } from "../errors.ts";
import type { ShardColumnRow } from "../monitor/mod.ts";
import { quoteTable } from "../postgres/mod.ts";
import { openSource } from "../sources/mod.ts";

/** A shard's drift row of one column, with the model version that scored it. */
export interface ShardDriftRow extends ShardColumnRow {
  model_version: string;
}

/** Where the shards' rows are: files, or a Postgres table. */
export type ShardRowsAt = { files: string[] } | { url: string; table: string };

/** Rows read per batch: a row holds a column's profile (up to a few hundred kB with its sketch). */
const BATCH_ROWS = 256;

/**
 * The shard rows (`shard` not null) of `model` in `window` (null window columns without one): from Postgres, the
 * rows the query selects; from files, every row of every file that matches. A line that is not a JSON object fails
 * the read, naming the file and the line.
 *
 * @example
 * ```ts
 * const rows = await readShardRows({ url: "postgres://postgres@127.0.0.1/test", table: "ride_drift" }, "ride-duration-linreg", window);
 * ```
 */
export async function readShardRows(
  at: ShardRowsAt,
  model: string,
  window: Window | undefined,
): Promise<ShardDriftRow[]> {
  if ("table" in at) {
    const source = await openSource(at.url, undefined, {
      query: `select model_name, model_version, window_start, shard, column_name, profile from ${quoteTable(at.table)}
               where shard is not null and model_name = $1
                 and window_start is not distinct from $2::timestamptz and window_end is not distinct from $3::timestamptz`,
      params: [model, window?.start.toISOString() ?? null, window?.end.toISOString() ?? null],
      labels: { table: "--monitor-table" },
    });
    return await readAll(source, () => true);
  }
  const rows: ShardDriftRow[] = [];
  const start = window?.start.getTime() ?? null;
  const inWindow = (r: Record<string, unknown>) =>
    r.model_name === model && r.shard !== null && r.shard !== undefined &&
    (r.window_start === null || r.window_start === undefined ? null : new Date(String(r.window_start)).getTime()) ===
      start;
  for (const file of at.files) rows.push(...await readAll(await openSource(file, "jsonl"), inWindow));
  return rows;
}

/** Every row of a source that `keep` keeps, as an object; a rejected row fails the read. */
async function readAll(
  source: Awaited<ReturnType<typeof openSource>>,
  keep: (row: Record<string, unknown>) => boolean,
): Promise<ShardDriftRow[]> {
  const rows: ShardDriftRow[] = [];
  try {
    for await (const batch of source.batches({ batchSize: BATCH_ROWS })) {
      const reject = batch.rejects?.[0];
      if (reject) {
        throw new InputError(`${source.description}: line ${reject.row + 1} is not a drift row: ${reject.message}`);
      }
      for (let i = 0; i < batch.length; i++) {
        const row: Record<string, unknown> = {};
        for (const [name, values] of Object.entries(batch.columns)) row[name] = values[i];
        if (keep(row)) rows.push(row as unknown as ShardDriftRow);
      }
    }
  } finally {
    await source.close();
  }
  return rows;
}
