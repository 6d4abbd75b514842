/**
 * The shipped models give the course's published answers and equal
 * sklearn's predictions (golden files written by `make models`), on the
 * committed fixtures always and on the full course data when it is there.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadModel, type Model } from "../../src/model/mod.ts";
import { openSource } from "../../src/sources/open_source.ts";
import { DATA, FIXTURES, MODELS } from "../helpers.ts";

const COURSE_RIDE = { PULocationID: [10], DOLocationID: [50], trip_distance: [40] };
const EVENT_RIDE = { PULocationID: [130], DOLocationID: [205], trip_distance: [3.66] };

async function withModel(name: string, fn: (m: Model) => Promise<void>) {
  const model = await loadModel(join(MODELS, name));
  try {
    await fn(model);
  } finally {
    await model.close();
  }
}

async function readCsv(path: string): Promise<Record<string, string>[]> {
  const source = await openSource(path);
  const rows: Record<string, string>[] = [];
  for await (const b of source.batches({ batchSize: 100_000 })) {
    for (let i = 0; i < b.length; i++) {
      rows.push(Object.fromEntries(Object.entries(b.columns).map(([k, v]) => [k, v[i] as string])));
    }
  }
  await source.close();
  return rows;
}

function columnsOf(rows: Record<string, string>[], names: string[]): Record<string, string[]> {
  return Object.fromEntries(names.map((n) => [n, rows.map((r) => r[n])]));
}

function assertClose(got: ArrayLike<unknown>, want: number[], tolerance: (w: number) => number, what: string) {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs((got[i] as number) - want[i]);
    worst = Math.max(worst, diff);
    assert.ok(diff <= tolerance(want[i]), `${what} row ${i}: ${got[i]} != ${want[i]}`);
  }
}

for (
  const [name, tolerance] of [["ride-duration-linreg", (w: number) => 1e-6 * Math.abs(w)], [
    "ride-duration-rf",
    () => 1e-4,
  ]] as const
) {
  Deno.test(`${name} equals sklearn on every golden ride of green 2021-02`, async () => {
    const golden = await readCsv(join(FIXTURES, "golden", `${name}.green_2021-02.csv`));
    assert.ok(golden.length > 60_000);
    await withModel(name, async (model) => {
      const p = await model.predict(
        columnsOf(golden, ["PULocationID", "DOLocationID", "trip_distance"]),
        golden.length,
      );
      assert.equal(p.rejects.length, 0);
      assertClose(p.columns.duration, golden.map((r) => Number(r.duration)), tolerance, name);
    });
  });
}

Deno.test("published answers of the course", async (t) => {
  await t.step(
    "web service, lin_reg.bin: the course's ride -> 26.43883355119793",
    () =>
      withModel("ride-duration-linreg", async (m) => {
        const p = await m.predict(COURSE_RIDE, 1);
        assert.ok(Math.abs((p.columns.duration[0] as number) - 26.43883355119793) < 1e-9);
      }),
  );
  await t.step(
    "streaming, linreg: ride 256 -> 12.78553032985699",
    () =>
      withModel("ride-duration-linreg", async (m) => {
        const p = await m.predict(EVENT_RIDE, 1);
        assert.ok(Math.abs((p.columns.duration[0] as number) - 12.78553032985699) < 1e-9);
      }),
  );
  await t.step("streaming, rf_pipeline: ride 256 -> 21.29", () =>
    withModel("ride-duration-rf", async (m) => {
      const p = await m.predict(EVENT_RIDE, 1);
      assert.equal(Math.round((p.columns.duration[0] as number) * 100) / 100, 21.29);
      assert.equal(m.version, "e1efc53e9bd149078b0c12aeaa6365df");
    }));
  await t.step("churn: the first customer of the CSV -> 0.6363584152715288", () =>
    withModel("churn", async (m) => {
      const [first] = await readCsv(join(FIXTURES, "churn_small.csv"));
      const p = await m.predict(Object.fromEntries(Object.entries(first).map(([k, v]) => [k, [v]])), 1);
      assert.ok(Math.abs((p.columns.churn_probability[0] as number) - 0.6363584152715288) < 1e-9);
      assert.equal(p.columns.churn[0], 1);
    }));
});

Deno.test("churn: the CSV's rows and the course's request form give the same probability", async () => {
  const rows = await readCsv(join(FIXTURES, "churn_small.csv"));
  const golden = (await readCsv(join(FIXTURES, "golden", "churn.telco.csv"))).slice(0, rows.length);
  await withModel("churn", async (m) => {
    const asCsv = await m.predict(columnsOf(rows, Object.keys(rows[0])), rows.length);
    assertClose(
      asCsv.columns.churn_probability,
      golden.map((r) => Number(r.churn_probability)),
      () => 1e-6,
      "churn csv",
    );
    // The course's service: keys lower-cased, values lower-cased with spaces as "_", numbers as numbers.
    const requests = rows.map((r) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => {
          const numeric = ["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"].includes(k);
          return [k.toLowerCase(), numeric ? Number(v) : v.toLowerCase().replaceAll(" ", "_")];
        }),
      )
    );
    const keys = Object.keys(requests[0]);
    const asRequest = await m.predict(
      Object.fromEntries(keys.map((k) => [k, requests.map((r) => r[k])])),
      requests.length,
    );
    assert.equal(asRequest.rejects.length, 0);
    assert.deepEqual(
      Array.from(asRequest.columns.churn_probability as Float64Array),
      Array.from(asCsv.columns.churn_probability as Float64Array),
    );
  });
});

Deno.test({
  name: "churn equals sklearn on all 7,043 rows of the course's CSV",
  fn: async () => {
    const rows = await readCsv(join(DATA, "telco_customer_churn.csv"));
    const golden = await readCsv(join(FIXTURES, "golden", "churn.telco.csv"));
    assert.equal(rows.length, 7043);
    await withModel("churn", async (m) => {
      const p = await m.predict(columnsOf(rows, Object.keys(rows[0])), rows.length);
      assertClose(p.columns.churn_probability, golden.map((r) => Number(r.churn_probability)), () => 1e-6, "churn");
    });
  },
});

Deno.test("a row gets the same bits alone as in a batch (serve vs batch), for every shipped model", async (t) => {
  const rides = await readCsv(join(FIXTURES, "rides_small.csv"));
  const customers = await readCsv(join(FIXTURES, "churn_small.csv"));
  for (
    const [name, rows] of [["ride-duration-linreg", rides], ["ride-duration-rf", rides], ["churn", customers]] as const
  ) {
    await t.step(name, () =>
      withModel(name, async (m) => {
        const names = Object.keys(rows[0]);
        const batch = await m.predict(columnsOf(rows, names), rows.length);
        const output = m.outputColumns[0].name;
        for (let i = 0; i < rows.length; i++) {
          const alone = await m.predict(columnsOf([rows[i]], names), 1);
          assert.equal(alone.columns[output][0], batch.columns[output][i], `${name} row ${i}`);
        }
      }));
  }
});
