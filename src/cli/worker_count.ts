/**
 * How many workers `score serve` and `score consume` start, from `--workers`
 * (or `SCORE_WORKERS`): a number is taken as given; `auto`, the default, is
 * the CPUs this process may use (usable_cpus.ts, a cgroup CPU quota
 * included) over the onnxruntime threads each worker runs (`--threads`), at
 * least 1, and 1 where only one can work (a dry run, a listener that cannot
 * share its port); a CPU is left out for a server the workers feed on this
 * same machine (`score consume`'s broker on 127.0.0.1). The commands log what
 * was chosen and why at start.
 */
import { UsageError } from "../errors.ts";
import { usableCpus } from "./usable_cpus.ts";

/** `--workers` as parsed: a count, or `auto`. */
export type WorkersFlag = number | "auto";

/** The workers to start, and why that many (logged as it is). */
export interface WorkerCount {
  workers: number;
  /** What set it: the flag, its variable, or the default (`auto`). */
  from: "--workers" | "SCORE_WORKERS" | "default";
  /** For `auto`: the CPUs this process may use. */
  cpus?: number;
  /** For `auto`, when it chose fewer workers than CPUs: why. */
  why?: string;
}

/** What besides the flag decides the count. */
export interface WorkerCountOptions {
  /** Where the value came from (`Parsed.source`): "cli", "env" or "default". */
  source?: string;
  /** onnxruntime intra-op threads per worker (`--threads`; 0: one per core). */
  threads?: number;
  /** Set when only one worker can work here: why (then `auto` is 1, and a count above 1 is refused). */
  oneOnly?: string;
  /** Set when a busy peer runs on this machine (the broker a consumer feeds): `auto` leaves it a CPU, and says why. */
  sharesCpuWith?: string;
  /** The usable CPU count (a parameter for tests). */
  cpus?: () => number;
}

/**
 * Resolves `--workers`.
 *
 * @example
 * ```ts
 * workerCount("auto", { source: "default", cpus: () => 4 }); // { workers: 4, from: "default", cpus: 4 }
 * workerCount("auto", { source: "default", threads: 2, cpus: () => 4 }).workers; // 2
 * workerCount(3, { source: "env" }); // { workers: 3, from: "SCORE_WORKERS" }
 * ```
 */
export function workerCount(flag: WorkersFlag, options: WorkerCountOptions = {}): WorkerCount {
  const from = options.source === "cli" ? "--workers" : options.source === "env" ? "SCORE_WORKERS" : "default";
  if (flag !== "auto") {
    if (flag > 1 && options.oneOnly !== undefined) {
      const given = from === "SCORE_WORKERS" ? ` (SCORE_WORKERS=${flag})` : "";
      throw new UsageError(`${options.oneOnly}: --workers must be 1${given}`);
    }
    return { workers: flag, from };
  }
  const cpus = (options.cpus ?? usableCpus)();
  if (options.oneOnly !== undefined) return { workers: 1, from, cpus, why: options.oneOnly };
  const threads = options.threads ?? 1;
  // A consumer's broker on the same cores does the more work per event: a worker in its place only slows both.
  const free = options.sharesCpuWith === undefined ? cpus : Math.max(1, cpus - 1);
  // Each worker's onnxruntime runs `threads` threads (0: one per core): more workers would only take turns on the CPUs.
  const workers = threads === 0 ? 1 : Math.max(1, Math.floor(free / threads));
  if (workers === cpus) return { workers, from, cpus };
  const why: string[] = [];
  if (free < cpus) why.push(`a CPU left for ${options.sharesCpuWith}`);
  if (threads !== 1) why.push(`--threads ${threads}${threads === 0 ? " (one per core)" : ""} in each worker`);
  return { workers, from, cpus, why: why.join("; ") };
}

/**
 * Whether a server URL names this machine (a loopback address, `localhost`, or no host at all, which clients read as
 * localhost): a server there shares this process's CPUs.
 *
 * @example
 * ```ts
 * onThisMachine("amqp://guest:guest@127.0.0.1:5672"); // true
 * onThisMachine("amqps://broker.example.com"); // false
 * ```
 */
export function onThisMachine(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return false;
  }
  return host === "" || host === "localhost" || host.endsWith(".localhost") || host === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
