import assert from "node:assert/strict";
import { usableCpus } from "../../src/cli/usable_cpus.ts";

Deno.test("usableCpus: the CPUs available, capped by a cgroup v2 quota rounded up", async (t) => {
  const cases: [string, number, string | undefined, number][] = [
    ["no cgroup file", 8, undefined, 8],
    ["no quota", 8, "max 100000\n", 8],
    ["1.5 CPUs of 8", 8, "150000 100000\n", 2],
    ["half a CPU", 8, "50000 100000", 1],
    ["a quota above the CPUs", 2, "400000 100000", 2],
    ["an unreadable line", 4, "garbage", 4],
  ];
  for (const [name, cpus, cpuMax, expected] of cases) {
    await t.step(name, () => assert.equal(usableCpus(cpus, cpuMax), expected));
  }
});
