/**
 * How many CPUs this process may use: the CPUs it may run on, capped by a
 * cgroup v2 CPU quota (`/sys/fs/cgroup/cpu.max`, as a container with
 * `--cpus` or a Kubernetes CPU limit sees it), rounded up, at least 1.
 * The default of `--workers`.
 */

/**
 * The usable CPU count.
 *
 * @example
 * ```ts
 * usableCpus(); // 2 on a 2-CPU machine; 1 in a container limited to 0.5 CPU
 * usableCpus(8, "150000 100000"); // 2
 * ```
 */
export function usableCpus(cpus = allowedCpus(), cpuMax = readCpuMax()): number {
  const [quota, period] = (cpuMax ?? "").trim().split(/\s+/);
  const limit = quota !== undefined && quota !== "max" && Number(period) > 0
    ? Math.ceil(Number(quota) / Number(period))
    : Infinity;
  return Math.max(1, Math.min(cpus, Number.isFinite(limit) && limit > 0 ? limit : cpus));
}

/**
 * The CPUs this process may run on (its affinity, as `taskset` or a cpuset sets it): `Cpus_allowed_list` of
 * /proc/self/status (`0-3,6`), else Deno's count. node:os's `availableParallelism` reads the same, but a `node:`
 * module would start Deno's Node compatibility for `--help`.
 *
 * @example
 * ```ts
 * allowedCpus("Name:\tdeno\nCpus_allowed_list:\t0-3,6\n"); // 5
 * ```
 */
export function allowedCpus(status = readStatus()): number {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status ?? "")?.[1];
  let count = 0;
  for (const range of list?.split(",") ?? []) {
    const [first, last = first] = range.split("-").map(Number);
    if (!Number.isInteger(first) || !Number.isInteger(last) || last < first) return navigator.hardwareConcurrency;
    count += last - first + 1;
  }
  return count > 0 ? count : navigator.hardwareConcurrency;
}

function readStatus(): string | undefined {
  try {
    return Deno.readTextFileSync("/proc/self/status");
  } catch {
    return undefined;
  }
}

function readCpuMax(): string | undefined {
  try {
    return Deno.readTextFileSync("/sys/fs/cgroup/cpu.max");
  } catch {
    return undefined;
  }
}
