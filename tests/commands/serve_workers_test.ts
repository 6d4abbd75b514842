/**
 * `score serve --workers 2`: two threads on one port, as users run it (the
 * real launcher, real HTTP). Requests go out on fresh connections, which
 * the kernel spreads over the workers by their source ports.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { usableCpus } from "../../src/cli/usable_cpus.ts";
import { logLines, MODELS, runScore } from "../helpers.ts";
import { requestsInFlight, startServer } from "./serve_process.ts";

const LINREG = join(MODELS, "ride-duration-linreg");
const RIDES = Array.from(
  { length: 40 },
  (_, i) => ({ PULocationID: 1 + (i * 37) % 265, DOLocationID: 1 + (i * 91) % 265, trip_distance: 0.3 + i * 0.17 }),
);

/** One request on a connection of its own (closed after the answer). */
async function post(url: string, body: unknown): Promise<{ status: number; text: string }> {
  const client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  try {
    const res = await fetch(url, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json", connection: "close" },
      client,
    });
    return { status: res.status, text: await res.text() };
  } finally {
    client.close();
  }
}

const metric = (text: string, name: string) =>
  [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))].reduce((a, m) => a + Number(m[1]), 0);

/** Every ride's answer, each on a fresh connection, then /metrics and the log, from a server started with `args`. */
async function answers(args: string[], env: Record<string, string | undefined> = {}) {
  await using server = await startServer(["--model", LINREG, ...args, "--no-access-log"], env);
  const out = [];
  for (const ride of RIDES) out.push(await post(`${server.url}/predict`, ride));
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  return { out, metrics, lines: server.lines };
}

Deno.test("score serve --workers 2: the same answers as one worker, one /metrics summing both, both start and drain", async (t) => {
  const one = await answers(["--workers", "1"]);
  const two = await answers(["--workers", "2"]);
  await t.step("every ride's answer is byte for byte the one worker's", () => {
    assert.ok(one.out.every((r) => r.status === 200));
    assert.deepEqual(two.out, one.out);
  });
  await t.step("both workers listened on the one port", () => {
    const lines = logLines(two.lines.join("\n"));
    const workers = lines.filter((l) => l.msg === "worker listening");
    assert.deepEqual(workers.map((l) => l.worker).sort(), [0, 1]);
    const listening = lines.filter((l) => l.msg === "listening");
    assert.equal(listening.length, 1);
    assert.deepEqual([workers[0].port, workers[1].port], [listening[0].port, listening[0].port]);
  });
  await t.step("/metrics counts every request, whichever worker answered it, and the model once", () => {
    // 40 fresh connections all on one worker would be a 1 in 2^39 chance: a worker's own count would be short.
    assert.equal(metric(two.metrics, "score_http_requests_total"), RIDES.length);
    assert.equal(metric(two.metrics, "score_batch_rows_sum"), RIDES.length);
    assert.equal(metric(two.metrics, "score_model_info"), 1);
  });
});

Deno.test("score serve without --workers or SCORE_WORKERS: a worker per usable CPU, the answers of one", async (t) => {
  const cpus = usableCpus();
  const one = await answers(["--workers", "1"]);
  // The suite's servers get SCORE_WORKERS=1 (tests/helpers.ts): unset here, as an operator who sets nothing runs it.
  const auto = await answers([], { SCORE_WORKERS: undefined });
  const lines = logLines(auto.lines.join("\n"));
  await t.step(`the start says so: ${cpus} worker(s), by default, of ${cpus} usable CPU(s)`, () => {
    const chosen = lines.filter((l) => l.msg === "workers");
    assert.equal(chosen.length, 1);
    const { workers, from, cpus: seen, why } = chosen[0];
    assert.deepEqual({ workers, from, cpus: seen, why }, { workers: cpus, from: "default", cpus, why: undefined });
  });
  await t.step("that many listened on the one port (one CPU: this thread alone)", () => {
    const workers = lines.filter((l) => l.msg === "worker listening").map((l) => l.worker);
    assert.deepEqual(workers.sort(), cpus > 1 ? Array.from({ length: cpus }, (_, i) => i) : []);
    assert.equal(lines.filter((l) => l.msg === "listening").length, 1);
  });
  await t.step("every ride's answer is byte for byte --workers 1's", () => {
    assert.ok(one.out.every((r) => r.status === 200));
    assert.deepEqual(auto.out, one.out);
  });
  await t.step("/metrics counts every request", () => {
    assert.equal(metric(auto.metrics, "score_http_requests_total"), RIDES.length);
  });
});

Deno.test("score serve --listener node: one worker, whatever the CPUs (its watchdog would take another's listener for its own)", async (t) => {
  await t.step("by default: auto is 1, and the log says why", async () => {
    await using server = await startServer(["--model", LINREG, "--listener", "node", "--no-access-log"], {
      SCORE_WORKERS: undefined,
    });
    const lines = logLines(server.lines.join("\n"));
    const { workers, from, why } = lines.find((l) => l.msg === "workers")!;
    assert.equal(workers, 1);
    assert.equal(from, "default");
    assert.match(String(why), /--listener node checks its listener by connecting to the port/);
    assert.equal(lines.filter((l) => l.msg === "worker listening").length, 0, "served in the main thread");
  });
  for (
    const [name, args, env] of [["--workers 2", ["--workers", "2"], {}], ["SCORE_WORKERS=2", [], {
      SCORE_WORKERS: "2",
    }]] as const
  ) {
    await t.step(`${name}: a usage error saying why`, async () => {
      const { code, stderr } = await runScore(["serve", "--model", LINREG, "--listener", "node", ...args], { env });
      assert.equal(code, 64, stderr);
      assert.match(stderr, /--listener node checks its listener by connecting to the port, .*: --workers must be 1/);
    });
  }
});

Deno.test("score serve --workers 2 on SIGTERM: requests in flight on both workers are answered, exit 0", async () => {
  // A long batch delay keeps the requests in flight while the signal arrives.
  await using server = await startServer([
    "--model",
    LINREG,
    "--workers",
    "2",
    "--max-batch-delay-ms",
    "1500",
    "--drain-delay",
    "0",
    "--no-access-log",
  ]);
  const inFlight = RIDES.slice(0, 12).map((ride) => post(`${server.url}/predict`, ride));
  await requestsInFlight(server, 12);
  const code = server.stop("SIGTERM");
  const answered = await Promise.all(inFlight);
  assert.deepEqual(answered.map((r) => r.status), Array(12).fill(200));
  assert.equal(await code, 0);
  const lines = logLines(server.lines.join("\n"));
  assert.equal(lines.filter((l) => l.msg === "stopped").length, 2, "both workers drained");
});

Deno.test("score serve --workers 2 on SIGHUP: every worker swaps in the new version, each counting its own reload", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = join(dir, "rides");
    await Deno.mkdir(model);
    for (const file of ["model.json", "model.onnx"]) await Deno.copyFile(join(LINREG, file), join(model, file));
    await using server = await startServer(["--model", model, "--workers", "2", "--no-access-log"]);
    const before = JSON.parse((await post(`${server.url}/predict`, RIDES[0])).text).model_version;
    // The random forest takes the same rides: a new version of the model, under the same name.
    await Deno.copyFile(join(MODELS, "ride-duration-rf", "model.onnx"), join(model, "model.onnx"));
    server.child.kill("SIGHUP");
    // Bounded: each worker logs its swap once it serves the new version.
    const deadline = Date.now() + 30_000;
    const swaps = () => logLines(server.lines.join("\n")).filter((l) => l.msg === "model reloaded");
    while (swaps().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(swaps().length, 2, server.lines.join("\n"));
    // Fresh connections reach both workers (all 40 on one would be a 1 in 2^39 chance): none answers the old version.
    const versions = new Set<string>();
    for (const ride of RIDES) versions.add(JSON.parse((await post(`${server.url}/predict`, ride)).text).model_version);
    assert.equal(versions.size, 1);
    assert.notEqual([...versions][0], before);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.equal(metric(metrics, 'score_model_reloads_total\\{model="ride-duration-linreg",result="reloaded"\\}'), 2);
    assert.match(
      metrics,
      new RegExp(`^score_model_info\\{model="ride-duration-linreg",version="${[...versions][0]}"\\} 1$`, "m"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("score serve --workers 2 --grpc-port: the first thread serves gRPC, and its /metrics count is in the sum", async (t) => {
  await using server = await startServer([
    ...["--model", LINREG, "--workers", "2", "--grpc-port", "0", "--no-access-log", "--drain-delay", "0"],
  ]);
  const { inferenceClient } = await import("../grpc/client.ts");
  const client = inferenceClient(`127.0.0.1:${server.grpcPort}`);
  try {
    await t.step("ModelInfer answers as /predict does", async () => {
      const ride = RIDES[3];
      const rest = JSON.parse((await post(`${server.url}/predict`, ride)).text);
      const got = await client.call("ModelInfer", {
        model_name: "ride-duration-linreg",
        inputs: [
          { name: "PULocationID", datatype: "INT64", shape: [1], contents: { int64_contents: [ride.PULocationID] } },
          { name: "DOLocationID", datatype: "INT64", shape: [1], contents: { int64_contents: [ride.DOLocationID] } },
          { name: "trip_distance", datatype: "FP64", shape: [1], contents: { fp64_contents: [ride.trip_distance] } },
        ],
      });
      assert.equal(got.code, "OK", String(got.details));
      assert.equal(got.response.outputs[0].contents.fp64_contents[0], rest.duration);
    });
    await t.step("/metrics sums both threads' rows: the gRPC call's and the REST request's", async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      assert.equal(metric(text, "score_batch_rows_sum"), 2);
    });
  } finally {
    client.close();
  }
});
