/**
 * Progress for long work: a bar on a terminal (rows, rows/s, percentage and
 * ETA where the size is known), a structured log line every few seconds
 * otherwise. While the bar is shown, log lines are written above it, whole.
 *
 * The percentage is never shown past what is known: below 100% until the
 * work ends, and the ETA only once a first 1% took at least a second.
 */
import type * as CliProgress from "./cli_progress.ts";
import { lazyImport } from "../lazy_import.ts";
import { log } from "../log.ts";

/** Counts a running job reports: rows read and rejected, and what it made of them. */
export interface Counts {
  read: number;
  rejected: number;
  /** Rows scored (batch). */
  predicted?: number;
  /** Events the broker confirmed (publish). */
  published?: number;
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
 * const progress = await startProgress("scoring", () => source.progress?.());
 * progress.update({ read: 10_000, predicted: 9_990, rejected: 10 });
 * progress.stop();
 * ```
 */
export async function startProgress(
  label: string,
  position: () => { done: number; total: number } | undefined,
  options: {
    interactive?: boolean;
    intervalMs?: number;
    report?: (fields: Record<string, unknown>) => void;
    /** The terminal (default: stderr); tests give a fake one. */
    stream?: NodeJS.WritableStream;
  } = {},
): Promise<Progress> {
  const started = performance.now();
  const interactive = options.interactive ?? Deno.stderr.isTerminal();
  const elapsed = () => Math.max((performance.now() - started) / 1000, 1e-3);
  const rate = (n: number) => Math.round(n / elapsed());
  /** How far the input is read, 0..1, or undefined when its size is not known. */
  const fraction = () => {
    const p = position();
    return p && p.total > 0 ? Math.min(p.done / p.total, 1) : undefined;
  };
  if (interactive) {
    // The bar's library loads only for a terminal.
    const { default: cliProgress } = await lazyImport<typeof CliProgress>(
      new URL("./cli_progress.ts", import.meta.url),
    );
    const sized = fraction() !== undefined;
    const bars = new cliProgress.MultiBar({
      format: sized
        ? `${label} [{bar}] {pct} | {rows} rows | {rate} rows/s | {rejected} rejected{etaText}`
        : `${label} | {rows} rows | {rate} rows/s | {rejected} rejected`,
      stream: options.stream ?? process.stderr,
      hideCursor: true,
      // Our own SIGINT/SIGTERM handling ends the work; the bar must not exit the process.
      gracefulExit: false,
    }, cliProgress.Presets.shades_classic);
    const bar = bars.create(1000, 0, { pct: "0.0%", rows: 0, rate: 0, rejected: 0, etaText: "" });
    // A log line replaces the bar's line at once (it must not wait for a redraw: the process may exit right
    // after it); the next redraw, within 100 ms, draws the bar again below it.
    const encoder = new TextEncoder();
    const above = options.stream
      ? (text: string) => void options.stream!.write(text)
      : (text: string) => void Deno.stderr.writeSync(encoder.encode(text));
    log.divert((line) => above("\r\x1b[2K" + line));
    const show = (c: Counts, done: boolean) => {
      const f = done ? 1 : Math.min(fraction() ?? 0, 0.999);
      const s = elapsed();
      bar.update(Math.floor(f * 1000), {
        pct: `${(Math.floor(f * 1000) / 10).toFixed(1)}%`,
        rows: c.read,
        rate: rate(c.read),
        rejected: c.rejected,
        etaText: !done && f >= 0.01 && s * (0.01 / f) >= 1 ? ` | ETA ${duration(s / f - s)}` : "",
      });
    };
    let last: Counts = { read: 0, rejected: 0 };
    let stopped = false;
    return {
      update(c) {
        last = c;
        show(c, false);
      },
      stop() {
        if (stopped) return;
        stopped = true;
        const complete = fraction();
        show(last, complete !== undefined && complete >= 1);
        log.divert(undefined);
        bars.stop();
      },
    };
  }
  const interval = options.intervalMs ?? 5000;
  let last = started;
  return {
    update(c) {
      const now = performance.now();
      if (now - last < interval) return;
      last = now;
      const f = fraction();
      const seconds = (now - started) / 1000;
      (options.report ?? ((fields) => log.info(label, fields)))({
        ...c,
        rows_per_s: rate(c.read),
        percent: f === undefined ? undefined : Math.floor(Math.min(f, 0.999) * 1000) / 10,
        eta_s: f !== undefined && f >= 0.01 ? Math.round(seconds / f - seconds) : undefined,
      });
    },
    stop: () => {},
  };
}

/** `42s`, `3m05s`, `1h02m`. */
function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
