/**
 * `score merge-drift`: the drift of a whole window from the rows the shards
 * of a sharded `score batch --monitor` wrote. Each shard's rows hold its
 * columns' profiles of its share of the window; merged, they are the
 * window's profiles, compared with the reference again and written as the
 * window's own rows (shard null), as an unsharded job writes them.
 */
import { Command } from "../cli/command.ts";
import { envOption } from "../cli/env_option.ts";
import { list } from "../cli/options.ts";
import { InputError, UsageError } from "../errors.ts";
import { log } from "../log.ts";
import { lazyImport } from "../lazy_import.ts";
import type * as BatchMonitor from "./batch_monitor.ts";
import type * as Monitor from "../monitor/mod.ts";
import type * as ShardDriftRows from "./shard_drift_rows.ts";
import { checkWindowFiles, planWindows, type WindowFlags, windowOptions, windowPath } from "./batch_plan.ts";
import { type MonitorFlags, monitorOptions, planMonitor } from "./monitor_plan.ts";

interface MergeDriftFlags extends MonitorFlags, WindowFlags {
  shards?: string[];
  modelVersion?: string;
}

/**
 * The `merge-drift` command.
 *
 * @example
 * ```sh
 * score merge-drift --monitor reference.json --period day --at 2021-02-04 \
 *   --monitor-output postgres://postgres@127.0.0.1:5432/test --monitor-table ride_drift
 * score merge-drift --monitor reference.json --shards drift-1.jsonl,drift-2.jsonl --monitor-output drift.jsonl
 * ```
 */
export function mergeDriftCommand(): Command {
  const cmd = new Command("merge-drift", {
    description:
      "Read the drift rows each shard of score batch --shard K/N --monitor wrote for a window (from the Postgres " +
      "--monitor-table they share, or from their --shards files), merge the shards' column profiles into the " +
      "window's, compare them with the reference again, and write the window's rows (shard null) and report as an " +
      "unsharded run would: a rerun replaces them. Every shard 1..N of the window and model version must be there.",
  });
  const [reference, merged, ...rest] = monitorOptions();
  const monitor = {
    ...reference,
    required: true,
    help: "the reference (score profile's output) each window's merged profile is compared with",
  };
  const output = {
    ...merged,
    help: "where each window's merged drift rows go: a .jsonl file, or postgres://... with --monitor-table, whose " +
      "shard rows are read too when --shards is not given (a rerun replaces the window's rows)",
  };
  cmd.addOptions([
    monitor,
    envOption(
      "--shards <paths>",
      "JSON-lines files the shards wrote their drift rows to, comma-separated or repeated ({window} for the window's label)",
      { parse: list },
    ),
    envOption(
      "--model-version <version>",
      "merge the shards of this version of the reference's model (needed only when a window holds shards of several)",
      { env: "SCORE_MODEL_VERSION" },
    ),
    ...windowOptions("merge"),
    output,
    ...rest,
  ]);
  return cmd.action(async (flags: MergeDriftFlags) => {
    const plan = planMonitor(flags, flags.backfill === true)!;
    if (plan.output === undefined && plan.report === undefined) {
      throw new UsageError("Give --monitor-output (the merged rows) or --monitor-report, or there is nothing to write");
    }
    const shards = flags.shards ?? [];
    if (shards.length === 0 && plan.table === undefined) {
      throw new UsageError(
        "Name the shards' rows: --shards FILES, or a Postgres --monitor-output and --monitor-table that holds them",
      );
    }
    const windows = { period: flags.period, windows: planWindows(flags, []) };
    // The shards' files are read, the merged rows written: no output may be one of them.
    await checkWindowFiles(windows, [...plan.files, ...shards.map((path) => ({ flag: "--shards", path }))]);
    const [{ publishDrift, readReference }, { mergeShards }, { readShardRows }] = await Promise.all([
      lazyImport<typeof BatchMonitor>(new URL("./batch_monitor.ts", import.meta.url)),
      lazyImport<typeof Monitor>(new URL("../monitor/mod.ts", import.meta.url)),
      lazyImport<typeof ShardDriftRows>(new URL("./shard_drift_rows.ts", import.meta.url)),
    ]);
    const reference = await readReference(plan.profile);
    const name = reference.model.name;
    for (const window of windows.windows) {
      const named = (path: string) => windowPath(windows, window, path);
      const label = window ? `window ${window.start.toISOString()}` : "the rows without a window";
      const rows = await readShardRows(
        shards.length > 0 ? { files: shards.map(named) } : { url: plan.output!, table: plan.table! },
        name,
        window,
      );
      const versions = [...new Set(rows.map((r) => r.model_version))].sort();
      const version = flags.modelVersion ?? versions[0];
      if (versions.length > 1 && flags.modelVersion === undefined) {
        // A release mid-window: which version's shards make the window is the user's call.
        throw new UsageError(
          `${label}: shard rows of model "${name}" versions ${versions.map((v) => `"${v}"`).join(", ")}: ` +
            "name one with --model-version",
        );
      }
      const mine = rows.filter((r) => r.model_version === version);
      if (mine.length === 0) {
        const which = flags.modelVersion === undefined ? "" : ` version "${flags.modelVersion}"`;
        throw new InputError(`${label}: no shard rows of model "${name}"${which}: run the shards first`);
      }
      let whole;
      try {
        whole = mergeShards(reference, version, mine);
      } catch (err) {
        if (!(err instanceof RangeError)) throw err;
        throw new InputError(`${label}, model "${name}" version "${version}": ${err.message}`);
      }
      await publishDrift(plan, reference, whole, whole.model, window, undefined, named);
      log.info("shards merged", {
        model: name,
        ...(window ? { window_start: window.start.toISOString() } : {}),
        version,
        shard_rows: mine.length,
      });
    }
  });
}
