// Runs the converted models in onnxruntime-node against the golden sklearn predictions
// that convert.py wrote, and prints the max abs / max rel differences.
//
//   ./scripts/deno run -A models/recipe/check.ts [--data data]
//
// Reads models/*/model.onnx and tests/fixtures/golden/*.csv; the raw telco CSV comes from
// --data (default data/, see data/README.md). Exits 1 when a figure is over its bound.
import * as ort from "onnxruntime-node";

const root = new URL("../../", import.meta.url).pathname;
const dataArg = Deno.args.indexOf("--data");
const data = dataArg >= 0 ? Deno.args[dataArg + 1] : `${root}data`;

function readCsv(path: string): { header: string[]; rows: string[][] } {
  const lines = Deno.readTextFileSync(path).split(/\r?\n/).filter((l) => l.length > 0);
  return { header: lines[0].split(","), rows: lines.slice(1).map((l) => l.split(",")) };
}

type Feeds = Record<string, ort.Tensor>;
const i64 = (xs: number[]) => new ort.Tensor("int64", BigInt64Array.from(xs.map(BigInt)), [xs.length]);
const f64 = (xs: number[]) => new ort.Tensor("float64", Float64Array.from(xs), [xs.length]);
const str = (xs: string[]) => new ort.Tensor("string", xs, [xs.length]);

async function run(model: string, feeds: Feeds): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(`${root}models/${model}/model.onnx`);
  return await session.run(feeds);
}

let failed = false;
function report(what: string, got: ArrayLike<number>, want: number[], bound: number, relative: boolean) {
  let maxAbs = 0, maxRel = 0, worst = -1;
  for (let i = 0; i < want.length; i++) {
    const abs = Math.abs(got[i] - want[i]);
    const rel = abs / Math.max(Math.abs(want[i]), 1e-300);
    if (!(abs <= maxAbs)) [maxAbs, worst] = [abs, i];
    if (rel > maxRel) maxRel = rel;
  }
  const ok = (relative ? maxRel : maxAbs) <= bound;
  if (!ok) failed = true;
  console.log(
    `${ok ? "ok  " : "FAIL"} ${what}: ${want.length} rows, max abs ${maxAbs.toExponential(3)}, ` +
      `max rel ${maxRel.toExponential(3)}` + (maxAbs > 0 ? ` (worst: golden entry ${worst})` : ""),
  );
}

// rides -------------------------------------------------------------------------------
for (
  const [model, bound, relative] of [["ride-duration-linreg", 1e-6, true], ["ride-duration-rf", 1e-4, false]] as const
) {
  const { rows } = readCsv(`${root}tests/fixtures/golden/${model}.green_2021-02.csv`);
  const out = await run(model, {
    PULocationID: i64(rows.map((r) => Number(r[1]))),
    DOLocationID: i64(rows.map((r) => Number(r[2]))),
    trip_distance: f64(rows.map((r) => Number(r[3]))),
  });
  report(
    `${model} vs sklearn, green 2021-02 filtered`,
    out.duration.data as Float64Array,
    rows.map((r) => Number(r[4])),
    bound,
    relative,
  );
}
{
  const lin = await run("ride-duration-linreg", {
    PULocationID: i64([10]),
    DOLocationID: i64([50]),
    trip_distance: f64([40]),
  });
  report("ride-duration-linreg published 10/50/40", lin.duration.data as Float64Array, [26.43883355119793], 0, true);
  const rf = await run("ride-duration-rf", {
    PULocationID: i64([130]),
    DOLocationID: i64([205]),
    trip_distance: f64([3.66]),
  });
  const p = (rf.duration.data as Float64Array)[0];
  console.log(
    `${Math.round(p * 100) / 100 === 21.29 ? "ok  " : "FAIL"} ride-duration-rf published event ride 256 -> ${p}`,
  );
  // unknown PU_DO and a negative id: only trip_distance counts
  const unk = await run("ride-duration-linreg", {
    PULocationID: i64([-1, 9999]),
    DOLocationID: i64([5, 1]),
    trip_distance: f64([2, 2]),
  });
  console.log(`     linreg unknown PU_DO -> ${Array.from(unk.duration.data as Float64Array)}`);
}

// churn -------------------------------------------------------------------------------
{
  const golden = readCsv(`${root}tests/fixtures/golden/churn.telco.csv`).rows.map((r) => Number(r[1]));
  const { header, rows } = readCsv(`${data}/telco_customer_churn.csv`);
  const numeric = new Set(["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]);
  const feeds: Feeds = {};
  header.forEach((col, j) => {
    if (col === "Churn") return;
    feeds[col] = numeric.has(col)
      ? f64(rows.map((r) => (r[j].trim() === "" ? NaN : Number(r[j]))))
      : str(rows.map((r) => r[j]));
  });
  const out = await run("churn", feeds);
  const p = out.churn_probability.data as Float64Array;
  report("churn vs sklearn, telco CSV raw values", p, golden, 1e-6, false);
  const flags = out.churn.data as Uint8Array;
  const bad = golden.filter((g, i) => Boolean(flags[i]) !== g >= 0.5).length;
  console.log(`${bad === 0 ? "ok  " : "FAIL"} churn flag == (p >= 0.5) on all rows (${bad} differ)`);
  if (bad) failed = true;

  // the course's request form (normalized values), blank TotalCharges, upper case
  const course: Record<string, string | number> = {
    gender: "female",
    SeniorCitizen: 0,
    Partner: "yes",
    Dependents: "no",
    PhoneService: "no",
    MultipleLines: "no_phone_service",
    InternetService: "dsl",
    OnlineSecurity: "no",
    OnlineBackup: "yes",
    DeviceProtection: "no",
    TechSupport: "no",
    StreamingTV: "no",
    StreamingMovies: "no",
    Contract: "month-to-month",
    PaperlessBilling: "yes",
    PaymentMethod: "electronic_check",
    tenure: 1,
    MonthlyCharges: 29.85,
    TotalCharges: 29.85,
  };
  const one: Feeds = {};
  for (const [k, v] of Object.entries(course)) one[k] = typeof v === "number" ? f64([v]) : str([v]);
  const c = await run("churn", one);
  report(
    "churn published, course request form",
    c.churn_probability.data as Float64Array,
    [0.6363584152715288],
    1e-15,
    false,
  );
  const upper: Feeds = {};
  for (const [k, v] of Object.entries(course)) upper[k] = typeof v === "number" ? f64([v]) : str([v.toUpperCase()]);
  const u = await run("churn", upper);
  report("churn, upper-cased values", u.churn_probability.data as Float64Array, [0.6363584152715288], 1e-15, false);
  const blank = { ...one, TotalCharges: f64([NaN]) };
  const zero = { ...one, TotalCharges: f64([0]) };
  const [b, z] = [await run("churn", blank), await run("churn", zero)];
  report(
    "churn, NaN TotalCharges == 0",
    b.churn_probability.data as Float64Array,
    [(z.churn_probability.data as Float64Array)[0]],
    0,
    false,
  );
}

if (failed) Deno.exit(1);
