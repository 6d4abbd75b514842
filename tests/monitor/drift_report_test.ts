/**
 * The drift report: self-contained HTML (nothing fetched), rendered by a
 * real headless Chromium to a screenshot that shows its content.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatasetProfile, renderDriftReport } from "../../src/monitor/mod.ts";
import { tempDir } from "../helpers.ts";
import { randomSample } from "./samples.ts";

function profiles() {
  const reference = new DatasetProfile({ name: "ride-duration-linreg", version: "9bceaa0ed43a" }, [
    { name: "PULocationID", role: "input", kind: "categorical" },
    { name: "trip_distance", role: "input", kind: "numeric" },
    { name: "empty <column>", role: "input", kind: "numeric" },
    { name: "duration", role: "output", kind: "numeric" },
  ]);
  const zones = (n: number, shift: number) => Array.from({ length: n }, (_, i) => String(40 + ((i * 7 + shift) % 30)));
  reference.fold(
    {
      PULocationID: zones(5_000, 0),
      trip_distance: new Float64Array(randomSample("lognormal", 5_000, 1)),
      "empty <column>": new Float64Array(5_000).fill(NaN),
    },
    5_000,
    { duration: new Float64Array(randomSample("normal", 5_000, 2).map((x) => 15 + 5 * x)) },
  );
  const current = reference.emptyLike();
  current.fold(
    {
      PULocationID: zones(2_000, 3).map((z, i) => (i % 4 === 0 ? "99" : z)),
      trip_distance: new Float64Array(randomSample("lognormal", 2_000, 3).map((x) => x * 1.6)),
      "empty <column>": new Float64Array(2_000).fill(NaN),
    },
    2_000,
    { duration: new Float64Array(randomSample("normal", 2_000, 4).map((x) => 18 + 5 * x)) },
  );
  return { reference, current };
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): [number, number] {
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  return [view.getUint32(16), view.getUint32(20)];
}

Deno.test("the drift report", async (t) => {
  const { reference, current } = profiles();
  const html = renderDriftReport({
    model: reference.model,
    window: { start: new Date("2021-02-03T00:00:00Z"), end: new Date("2021-02-04T00:00:00Z") },
    reference,
    current,
    drift: reference.drift(current),
  });

  await t.step("is self-contained: no script, no link, nothing fetched", () => {
    for (const pattern of [/<script/i, /\bsrc=/i, /\bhref=/i, /url\(/i, /@import/i, /<link/i]) {
      assert.doesNotMatch(html, pattern);
    }
    const addresses = html.match(/https?:\/\/[^"' )]+/g) ?? [];
    assert.deepEqual([...new Set(addresses)], ["http://www.w3.org/2000/svg"], "only SVG's namespace name");
  });

  await t.step("shows each column's test and a plot for each, and escapes names", () => {
    assert.equal(html.match(/<svg /g)?.length, 4);
    assert.match(html, /<h3>trip_distance <small>input, numeric, Wasserstein \(normed\) [0-9.]+, drifted<\/small>/);
    assert.match(html, /<h3>empty &#60;column&#62; <small>input, numeric, KS p-value –<\/small>/);
    assert.match(html, /<b>2 of 3<\/b><span>drifted input columns<\/span>/);
  });

  await t.step("renders in headless Chromium to a screenshot of its content", async () => {
    await using dir = await tempDir();
    const page = join(dir.path, "report.html");
    const png = join(dir.path, "report.png");
    await Deno.writeTextFile(page, html);
    const run = await new Deno.Command("chromium", {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        `--user-data-dir=${join(dir.path, "chromium")}`,
        `--screenshot=${png}`,
        "--window-size=1200,1300",
        `file://${page}`,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const bytes = await Deno.readFile(png);
    assert.deepEqual(Array.from(bytes.subarray(1, 4)), [0x50, 0x4e, 0x47], "a PNG");
    assert.deepEqual(pngSize(bytes), [1200, 1300]);
    // A blank page of that size compresses to a few kB; bars, text and axes take far more.
    assert(bytes.length > 30_000, `${bytes.length} bytes`);
  });
});
