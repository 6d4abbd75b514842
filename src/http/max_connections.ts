/**
 * The default connection cap of node:http's listener, apart from the
 * listener so `score serve --help` shows it without loading the listener.
 */

/**
 * The most connections this process should hold: half its soft limit on
 * open files (Linux's /proc/self/limits), 1000 where it cannot be read.
 * Half, because a refused connection holds a descriptor until it is
 * closed: the cap keeps descriptors from running out, and the listener's
 * watchdog recovers when they run out all the same.
 *
 * @example
 * ```ts
 * defaultMaxConnections(); // 256 with `ulimit -n 512`
 * ```
 */
export function defaultMaxConnections(limits = readLimits()): number {
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits ?? "")?.[1];
  if (soft === undefined) return 1000;
  if (soft === "unlimited") return 100_000;
  return Math.max(16, Math.floor(Number(soft) / 2));
}

function readLimits(): string | undefined {
  try {
    return Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return undefined;
  }
}
