/**
 * docs/grafana/score-drift.json: every query of the dashboard runs on a
 * drift table written by `score batch --monitor`, and gives what its panel
 * plots.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cliArgs, DATA, MODELS, profileRides, ROOT, runScore, tempDir } from "../helpers.ts";
import { loadRides, PG_URL, withDb } from "../postgres/helpers.ts";
import { Registry } from "../../src/metrics/mod.ts";
import { DatasetProfile } from "../../src/monitor/mod.ts";
import { watchDrift } from "../../src/serving/drift_watch.ts";

interface Panel {
  datasource?: { type: string };
  title: string;
  type: string;
  targets: { rawSql: string; format: string }[];
}

const LINREG = join(MODELS, "ride-duration-linreg");

Deno.test("the Grafana dashboard's queries run on score batch --monitor's table", async (t) => {
  const dashboard = JSON.parse(await Deno.readTextFile(join(ROOT, "docs", "grafana", "score-drift.json")));
  await using dir = await tempDir();
  const reference = join(dir.path, "reference.json");
  await profileRides(join(DATA, "green_tripdata_2021-01.parquet"), reference);
  await withDb(["rides", "preds", "drift"], async ({ sql }, [rides, preds, drift]) => {
    await loadRides(rides);
    /** `score batch` of days of rides into Postgres, with its drift into the drift table. */
    const scoreDays = (model: string, days: Record<string, string | boolean>) =>
      runScore([
        "batch",
        ...cliArgs({
          "--model": model,
          "--no-progress": true,
          "--input": PG_URL,
          "--query": `select * from "${rides}" where lpep_pickup_datetime >= $1 and lpep_pickup_datetime < $2`,
          "--period": "day",
          ...days,
          "--output": PG_URL,
          "--output-table": preds,
          "--replace": "window",
          "--monitor": reference,
          "--monitor-output": PG_URL,
          "--monitor-table": drift,
        }),
      ]);
    const run = await scoreDays(LINREG, { "--backfill": true, "--from": "2021-02-01", "--to": "2021-02-04" });
    assert.equal(run.code, 0, run.stderr);
    // The last window scored again by a new version of the model: both versions' rows stay in the table (a rerun
    // replaces only its own version's), and every panel must show the newest version's alone, not both added up.
    const v2 = join(dir.path, "linreg-v2");
    await Deno.mkdir(v2);
    await Deno.copyFile(join(LINREG, "model.onnx"), join(v2, "model.onnx"));
    const manifest = JSON.parse(await Deno.readTextFile(join(LINREG, "model.json")));
    await Deno.writeTextFile(join(v2, "model.json"), JSON.stringify({ ...manifest, version: "v2" }));
    const again = await scoreDays(v2, { "--at": "2021-02-04" });
    assert.equal(again.code, 0, again.stderr);
    const versions = await sql.unsafe(
      `select count(distinct model_version)::int as n from "${drift}" where window_start = '2021-02-03T00:00:00Z'`,
    );
    assert.equal(versions[0].n, 2, "the last window holds both versions' rows");
    /** A query as Grafana sends it: variables and the time filter filled in. */
    const query = (text: string) =>
      text.replaceAll("${drift_table}", `"${drift}"`).replaceAll("$model", "ride-duration-linreg")
        .replaceAll(
          "$__timeFilter(window_start)",
          "window_start between '2021-02-01T00:00:00Z' and '2021-04-01T00:00:00Z'",
        );

    await t.step("the model variable lists the model", async () => {
      const variable = dashboard.templating.list.find((v: { name: string }) => v.name === "model");
      const rows = await sql.unsafe(query(variable.query));
      assert.deepEqual(rows.map((r) => r.model_name), ["ride-duration-linreg"]);
    });
    // The Postgres panels; the Prometheus ones read score serve's /metrics (tests/serving/drift_watch_test.ts).
    const postgres = (dashboard.panels as (Panel & { datasource?: { type: string } })[])
      .filter((p) => p.datasource?.type === "grafana-postgresql-datasource");
    assert.equal(postgres.length, 6);
    for (const panel of postgres) {
      await t.step(`${panel.type} "${panel.title}"`, async () => {
        const rows = await sql.unsafe(query(panel.targets[0].rawSql));
        assert.ok(rows.length > 0, "some rows");
        if (panel.type === "timeseries") {
          const days = new Set(rows.map((r) => (r.time as Date).toISOString()));
          assert.deepEqual([...days].sort(), [
            "2021-02-01T00:00:00.000Z",
            "2021-02-02T00:00:00.000Z",
            "2021-02-03T00:00:00.000Z",
          ]);
          const numbers = Object.keys(rows[0]).filter((k) => k !== "time" && k !== "metric");
          for (const r of rows) for (const k of numbers) assert.equal(typeof Number(r[k]), "number");
          // One point a window and series: the newest version's, never both versions' rows together.
          const points = rows.map((r) => `${(r.time as Date).toISOString()} ${r.metric ?? ""}`);
          assert.equal(new Set(points).size, points.length, "one point a window and series");
          if ("drifted columns" in rows[0]) { for (const r of rows) assert.ok(Number(r["drifted columns"]) <= 3); }
        } else {
          assert.equal(rows.length, 4, "a row per column of the latest window");
        }
      });
    }
  });
});

Deno.test("the Grafana dashboard's Prometheus panels read metrics score serve --monitor exports", async () => {
  const dashboard = JSON.parse(await Deno.readTextFile(join(ROOT, "docs", "grafana", "score-drift.json")));
  const reference = new DatasetProfile({ name: "m", version: "1" }, [
    { name: "x", role: "input", kind: "numeric" },
    { name: "y", role: "output", kind: "numeric" },
  ]);
  reference.fold({ x: [1, 2, 3] }, 3, { y: [1, 2, 3] });
  const registry = new Registry();
  const watch = watchDrift(reference, registry, { windowSeconds: 60, periodSeconds: 60 });
  try {
    const exported = new Set([...(await registry.metrics()).matchAll(/^# TYPE (score_[a-z_]+) /gm)].map((m) => m[1]));
    const prometheus = (dashboard.panels as { datasource?: { type: string }; targets?: { expr: string }[] }[])
      .filter((p) => p.datasource?.type === "prometheus");
    assert.equal(prometheus.length, 4);
    for (const panel of prometheus) {
      for (const target of panel.targets!) {
        for (const [name] of target.expr.matchAll(/score_[a-z_]+/g)) {
          assert.ok(exported.has(name.replace(/_(bucket|sum|count)$/, "")), name);
        }
      }
    }
  } finally {
    watch.stop();
  }
});
