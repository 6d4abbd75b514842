import assert from "node:assert/strict";
import { type MonitorFlags, planMonitor } from "../../src/commands/monitor_plan.ts";
import { thrown } from "../helpers.ts";

Deno.test("planMonitor", async (t) => {
  const ok: [string, MonitorFlags, boolean, ReturnType<typeof planMonitor>][] = [
    ["no --monitor: no plan", {}, false, undefined],
    ["a file and a report", { monitor: "r.json", monitorOutput: "d.jsonl", monitorReport: "r.html" }, false, {
      profile: "r.json",
      output: "d.jsonl",
      table: undefined,
      report: "r.html",
      files: [
        { flag: "--monitor", path: "r.json" },
        { flag: "--monitor-output", path: "d.jsonl" },
        { flag: "--monitor-report", path: "r.html" },
      ],
    }],
    [
      "Postgres with its table, in a backfill",
      {
        monitor: "r.json",
        monitorOutput: "postgres://u@h/db",
        monitorTable: "drift",
      },
      true,
      {
        profile: "r.json",
        output: "postgres://u@h/db",
        table: "drift",
        report: undefined,
        files: [{ flag: "--monitor", path: "r.json" }],
      },
    ],
    ["a backfill's report named per window", { monitor: "r.json", monitorReport: "out/{window}.html" }, true, {
      profile: "r.json",
      output: undefined,
      table: undefined,
      report: "out/{window}.html",
      files: [{ flag: "--monitor", path: "r.json" }, { flag: "--monitor-report", path: "out/{window}.html" }],
    }],
  ];
  for (const [name, flags, backfill, want] of ok) {
    await t.step(name, () => assert.deepEqual(planMonitor(flags, backfill), want));
  }
  const bad: [string, MonitorFlags, boolean, RegExp][] = [
    ["a report without --monitor", { monitorReport: "r.html" }, false, /--monitor-report goes with --monitor/],
    [
      "a table without Postgres",
      { monitor: "r.json", monitorOutput: "d.jsonl", monitorTable: "t" },
      false,
      /--monitor-table goes with a Postgres/,
    ],
    [
      "a backfill's file without {window}",
      { monitor: "r.json", monitorOutput: "d.jsonl" },
      true,
      /With --backfill, --monitor-output needs \{window\}/,
    ],
    ["a report to stdout", { monitor: "r.json", monitorReport: "-" }, false, /--monitor-report writes a file/],
  ];
  for (const [name, flags, backfill, message] of bad) {
    await t.step(name, () => {
      const err = thrown(() => planMonitor(flags, backfill));
      assert.equal(err.code, "usage");
      assert.match(err.message, message);
    });
  }
});
