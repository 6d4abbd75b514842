import assert from "node:assert/strict";
import { Command } from "../../src/cli/command.ts";
import { commandHelp } from "../../src/cli/help.ts";
import { workersOption } from "../../src/cli/options.ts";
import { usableCpus } from "../../src/cli/usable_cpus.ts";
import { onThisMachine, type WorkerCount, workerCount, type WorkerCountOptions } from "../../src/cli/worker_count.ts";
import { UsageError } from "../../src/errors.ts";

/** `--workers` as serve and consume resolve it: parsed (flag > SCORE_WORKERS > default), then resolved. */
function resolve(
  args: string[],
  env: string | undefined,
  options: Omit<WorkerCountOptions, "source"> = {},
): WorkerCount {
  const saved = Deno.env.get("SCORE_WORKERS");
  if (env === undefined) Deno.env.delete("SCORE_WORKERS");
  else Deno.env.set("SCORE_WORKERS", env);
  try {
    const parsed = new Command("t", { description: "" }).addOptions([workersOption("workers")]).parse(args);
    return workerCount(parsed.flags.workers, { ...options, source: parsed.source("workers") });
  } finally {
    if (saved === undefined) Deno.env.delete("SCORE_WORKERS");
    else Deno.env.set("SCORE_WORKERS", saved);
  }
}

/** 8 CPUs under a cgroup quota of 1.5 CPUs (`docker run --cpus 1.5`): 2 usable. */
const QUOTA_1_5 = () => usableCpus(8, "150000 100000\n");
/** 8 CPUs, no quota. */
const EIGHT = () => usableCpus(8, "max 100000\n");

Deno.test("workerCount: --workers > SCORE_WORKERS > auto, the CPUs this process may use", async (t) => {
  const cases: [string, string[], string | undefined, Omit<WorkerCountOptions, "source">, WorkerCount][] = [
    ["neither: auto, capped by the cgroup quota", [], undefined, { cpus: QUOTA_1_5 }, {
      workers: 2,
      from: "default",
      cpus: 2,
    }],
    ["neither, no quota: every CPU", [], undefined, { cpus: EIGHT }, { workers: 8, from: "default", cpus: 8 }],
    ["neither, half a CPU: one", [], undefined, { cpus: () => usableCpus(8, "50000 100000") }, {
      workers: 1,
      from: "default",
      cpus: 1,
    }],
    ["the variable over the default", [], "3", { cpus: QUOTA_1_5 }, { workers: 3, from: "SCORE_WORKERS" }],
    ["the variable may say auto", [], "auto", { cpus: QUOTA_1_5 }, { workers: 2, from: "SCORE_WORKERS", cpus: 2 }],
    ["the flag over the variable", ["--workers", "1"], "3", { cpus: QUOTA_1_5 }, { workers: 1, from: "--workers" }],
    ["the flag may say auto", ["--workers", "auto"], "1", { cpus: EIGHT }, { workers: 8, from: "--workers", cpus: 8 }],
    ["auto over --threads 2: the workers' threads fill the CPUs", [], undefined, { cpus: EIGHT, threads: 2 }, {
      workers: 4,
      from: "default",
      cpus: 8,
      why: "--threads 2 in each worker",
    }],
    ["auto with --threads 0 (one per core): one worker", [], undefined, { cpus: EIGHT, threads: 0 }, {
      workers: 1,
      from: "default",
      cpus: 8,
      why: "--threads 0 (one per core) in each worker",
    }],
    ["auto where only one can work: one, and why", [], undefined, { cpus: EIGHT, oneOnly: "--dry-run says so" }, {
      workers: 1,
      from: "default",
      cpus: 8,
      why: "--dry-run says so",
    }],
    ["auto beside a busy peer on this machine: a CPU left for it", [], undefined, {
      cpus: EIGHT,
      sharesCpuWith: "the broker",
    }, { workers: 7, from: "default", cpus: 8, why: "a CPU left for the broker" }],
    ["the same over --threads 2", [], undefined, { cpus: EIGHT, threads: 2, sharesCpuWith: "the broker" }, {
      workers: 3,
      from: "default",
      cpus: 8,
      why: "a CPU left for the broker; --threads 2 in each worker",
    }],
    ["beside a peer on one CPU: still one worker", [], undefined, { cpus: () => 1, sharesCpuWith: "the broker" }, {
      workers: 1,
      from: "default",
      cpus: 1,
    }],
    ["a count is taken as given beside a peer", ["--workers", "2"], undefined, {
      cpus: () => 2,
      sharesCpuWith: "the broker",
    }, { workers: 2, from: "--workers" }],
    ["a count of 1 where only one can work", ["--workers", "1"], undefined, { oneOnly: "--dry-run says so" }, {
      workers: 1,
      from: "--workers",
    }],
    ["a count is taken as given, whatever the CPUs", ["--workers", "5"], undefined, { cpus: QUOTA_1_5 }, {
      workers: 5,
      from: "--workers",
    }],
  ];
  for (const [name, args, env, options, expected] of cases) {
    await t.step(name, () => assert.deepEqual(resolve(args, env, options), expected));
  }

  const refused: [string, string[], string | undefined, RegExp][] = [
    ["--workers 2 where only one can work", ["--workers", "2"], undefined, /^--dry-run says so: --workers must be 1$/],
    ["SCORE_WORKERS=2 there: the variable named", [], "2", /--workers must be 1 \(SCORE_WORKERS=2\)/],
  ];
  for (const [name, args, env, message] of refused) {
    await t.step(`refused: ${name}`, () => {
      assert.throws(
        () => resolve(args, env, { oneOnly: "--dry-run says so" }),
        (e: Error) => e instanceof UsageError && message.test(e.message),
      );
    });
  }
  for (const bad of ["0", "-1", "1.5", "all"]) {
    await t.step(`refused: --workers ${bad}`, () => {
      assert.throws(() => resolve(["--workers", bad], undefined), /not a whole number >= 1/);
    });
  }

  await t.step("--help says the default is auto and what it comes to here", () => {
    const cmd = new Command("t", { description: "" }).addOptions([workersOption("workers")]);
    const help = commandHelp("score", cmd, []).replace(/\s+/g, " ");
    assert.match(help, /default: auto, the CPUs this process may use, a cgroup CPU quota included/);
    assert.match(help, new RegExp(`: ${usableCpus()} CPUs here, env: SCORE_WORKERS\\)`));
  });
});

Deno.test("onThisMachine: a server URL naming this machine", async (t) => {
  const cases: [string, boolean][] = [
    ["amqp://guest:guest@127.0.0.1:5672", true],
    ["amqp://127.0.0.2", true],
    ["amqp://localhost", true],
    ["amqp://LOCALHOST:5672/vhost", true],
    ["amqp://rabbit.localhost", true],
    ["amqp://[::1]:5672", true],
    ["amqp://", true],
    ["amqps://user:pw@broker.example.com:5671", false],
    ["amqp://10.0.0.7", false],
    ["amqp://127.0.0.1.example.com", false],
    ["not a url", false],
  ];
  for (const [url, expected] of cases) await t.step(url, () => assert.equal(onThisMachine(url), expected));
});
