/**
 * How many CPUs this process may use: the CPUs it may run on, capped by a
 * cgroup v2 CPU quota (`/sys/fs/cgroup/cpu.max`, as a container with
 * `--cpus` or a Kubernetes CPU limit sees it), rounded up, at least 1.
 * The default of `--workers`.
 */
import { availableParallelism } from "node:os";

/**
 * The usable CPU count.
 *
 * @example
 * ```ts
 * usableCpus(); // 2 on a 2-CPU machine; 1 in a container limited to 0.5 CPU
 * usableCpus(8, "150000 100000"); // 2
 * ```
 */
export function usableCpus(cpus = availableParallelism(), cpuMax = readCpuMax()): number {
  const [quota, period] = (cpuMax ?? "").trim().split(/\s+/);
  const limit = quota !== undefined && quota !== "max" && Number(period) > 0
    ? Math.ceil(Number(quota) / Number(period))
    : Infinity;
  return Math.max(1, Math.min(cpus, Number.isFinite(limit) && limit > 0 ? limit : cpus));
}

function readCpuMax(): string | undefined {
  try {
    return Deno.readTextFileSync("/sys/fs/cgroup/cpu.max");
  } catch {
    return undefined;
  }
}
