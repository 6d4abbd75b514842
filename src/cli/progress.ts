/**
 * Progress for long work: a bar on a terminal (rows, rows/s, ETA where the
 * size is known), a structured log line every few seconds otherwise.
 */
import cliProgress from "cli-progress";
import { log } from "../log.ts";

/** Counts a running job reports. */
export interface Counts {
  read: number;
  predicted: number;
  rejected: number;
}

/** A progress display: `update` often, `stop` once. */
export interface Progress {
  update(counts: Counts): void;
  stop(): void;
}

/**
 * Starts a progress display. `fraction` tells how far the input is read
 * (0..1) when its size is known.
 *
 * @example
 * ```ts
 * const progress = startProgress("scoring", () => source.progress?.());
 * progress.update({ read: 10_000, predicted: 9_990, rejected: 10 });
 * progress.stop();
 * ```
 */
export function startProgress(
  label: string,
  position: () => { done: number; total: number } | undefined,
  options: { interactive?: boolean; intervalMs?: number; report?: (fields: Record<string, unknown>) => void } = {},
): Progress {
  const started = performance.now();
  const interactive = options.interactive ?? Deno.stderr.isTerminal();
  const rate = (n: number) => Math.round(n / Math.max((performance.now() - started) / 1000, 1e-3));
  if (interactive) {
    const bar = new cliProgress.SingleBar({
      format:
        `${label} [{bar}] {percentage}% | {rows} rows | {rate} rows/s | {rejected} rejected | ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    bar.start(1000, 0, { rows: 0, rate: 0, rejected: 0 });
    return {
      update(c) {
        const p = position();
        bar.update(p && p.total > 0 ? Math.round((1000 * p.done) / p.total) : 0, {
          rows: c.read,
          rate: rate(c.read),
          rejected: c.rejected,
        });
      },
      stop: () => bar.stop(),
    };
  }
  const interval = options.intervalMs ?? 5000;
  let last = started;
  return {
    update(c) {
      const now = performance.now();
      if (now - last < interval) return;
      last = now;
      const p = position();
      const fraction = p && p.total > 0 ? p.done / p.total : undefined;
      const seconds = (now - started) / 1000;
      (options.report ?? ((fields) => log.info(label, fields)))({
        ...c,
        rows_per_s: rate(c.read),
        percent: fraction === undefined ? undefined : Math.round(fraction * 1000) / 10,
        eta_s: fraction ? Math.round(seconds / fraction - seconds) : undefined,
      });
    },
    stop: () => {},
  };
}
