import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { allowedCpus, usableCpus } from "../../src/cli/usable_cpus.ts";

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

Deno.test("allowedCpus: the CPUs of the process's affinity, as node:os counts them", async (t) => {
  const cases: [string, string | undefined, number][] = [
    ["a range", "Name:\tdeno\nCpus_allowed_list:\t0-3\n", 4],
    ["ranges and single CPUs", "Cpus_allowed:\tff\nCpus_allowed_list:\t0-3,6,8-9\nMems_allowed:\t1\n", 7],
    ["one CPU", "Cpus_allowed_list:\t5\n", 1],
    ["no such line: Deno's count", "Name:\tdeno\n", navigator.hardwareConcurrency],
    ["no file: Deno's count", undefined, navigator.hardwareConcurrency],
    ["a line not understood: Deno's count", "Cpus_allowed_list:\t3-1\n", navigator.hardwareConcurrency],
  ];
  for (const [name, status, cpus] of cases) await t.step(name, () => assert.equal(allowedCpus(status), cpus));
  await t.step(
    "this process: node:os's availableParallelism",
    () => assert.equal(allowedCpus(), availableParallelism()),
  );
});
