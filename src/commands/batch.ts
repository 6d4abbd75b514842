/**
 * `score batch`: the composition root of the offline job. It reads flags,
 * opens the model, the source and the sinks, runs the batch pipeline with
 * a progress display and reports a summary.
 */
import { Command, Option } from "commander";
import { runBatch } from "../batch/run_batch.ts";
import { list, loadOptions, modelOption, modelTuningOptions, wholeNumber } from "../cli/options.ts";
import { startProgress } from "../cli/progress.ts";
import { TooManyRejectsError } from "../errors.ts";
import { log } from "../log.ts";
import { loadModel } from "../model/mod.ts";
import { createSink } from "../sinks/create_sink.ts";
import { openSource } from "../sources/open_source.ts";

/** Reject lines logged when no `--rejects` is given, before the rest are only counted. */
const LOGGED_REJECTS = 20;

interface BatchFlags {
  model: string;
  input: string;
  output: string;
  inputFormat?: string;
  outputFormat?: string;
  keep?: string[];
  rejects?: string;
  rejectsFormat?: string;
  maxErrors: number;
  batchSize: number;
  progress: boolean;
  threads: number;
  graphOptimization: string;
  rename?: Record<string, string>;
}

/**
 * The `batch` command.
 *
 * @example
 * ```sh
 * score batch --model models/ride-duration-linreg --input rides.parquet --output out.parquet --keep ride_id
 * ```
 */
export function batchCommand(): Command {
  const cmd = new Command("batch")
    .description("Score every row of a file and write the predictions to another file.")
    .addOption(modelOption())
    .addOption(new Option("--input <path>", "rows to score: .parquet, .csv or .jsonl").env("SCORE_INPUT").makeOptionMandatory())
    .addOption(new Option("--output <path>", "where predictions go: .parquet, .csv, .jsonl, or - for JSON lines on stdout").env("SCORE_OUTPUT").makeOptionMandatory())
    .addOption(new Option("--input-format <format>", "input format, when the extension does not tell").choices(["parquet", "csv", "jsonl"]))
    .addOption(new Option("--output-format <format>", "output format, when the extension does not tell").choices(["parquet", "csv", "jsonl"]))
    .addOption(new Option("--keep <columns>", "input columns copied to the output, comma-separated").env("SCORE_KEEP").argParser(list))
    .addOption(new Option("--rejects <path>", "where rejected rows go (row, error, data)").env("SCORE_REJECTS"))
    .addOption(new Option("--rejects-format <format>", "rejects format, when the extension does not tell").choices(["parquet", "csv", "jsonl"]))
    .addOption(new Option("--max-errors <n>", "exit non-zero (65) when more rows than this are rejected; -1: no limit").env("SCORE_MAX_ERRORS").argParser(wholeNumber(-1)).default(-1))
    .addOption(new Option("--batch-size <n>", "rows per model run").env("SCORE_BATCH_SIZE").argParser(wholeNumber(1)).default(10_000))
    .addOption(new Option("--no-progress", "no progress bar or progress lines"));
  for (const o of modelTuningOptions()) cmd.addOption(o);
  return cmd.action(async (flags: BatchFlags) => {
    const model = await loadModel(flags.model, loadOptions(flags));
    try {
      for (const w of model.warnings) log.warn(w, { model: model.name });
      const source = await openSource(flags.input, flags.inputFormat);
      const sink = createSink(flags.output, flags.outputFormat);
      const rejects = flags.rejects ? createSink(flags.rejects, flags.rejectsFormat, "--rejects-format") : undefined;
      log.info("batch started", { model: model.name, version: model.version, input: source.description, output: sink.description });
      const progress = flags.progress ? startProgress("scoring", () => source.progress?.()) : undefined;
      let unlogged = 0;
      const summary = await runBatch({
        model,
        source,
        sink,
        rejects,
        keep: flags.keep,
        batchSize: flags.batchSize,
        onProgress: (p) => progress?.update(p),
        onReject: (row, error) => {
          if (rejects) return;
          if (unlogged++ < LOGGED_REJECTS) log.warn("row rejected", { row, error });
        },
      }).finally(() => progress?.stop());
      log.info("batch done", {
        model: model.name,
        version: model.version,
        output: sink.description,
        rejects: rejects?.description,
        read: summary.read,
        predicted: summary.predicted,
        rejected: summary.rejected,
        seconds: Math.round(summary.seconds * 1000) / 1000,
        rows_per_s: Math.round(summary.rowsPerSecond),
      });
      if (flags.maxErrors >= 0 && summary.rejected > flags.maxErrors) {
        throw new TooManyRejectsError(
          `${summary.rejected} rows were rejected, more than --max-errors ${flags.maxErrors}` +
            (rejects ? ` (see ${rejects.description})` : ""),
        );
      }
    } finally {
      await model.close();
    }
  });
}
