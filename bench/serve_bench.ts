/**
 * `deno task bench:serve`: how close `score serve` comes to the HTTP
 * ceiling of this machine, in one run.
 *
 * With wrk (installed with apt-get when missing) at 64 connections, 127.0.0.1
 * only, it measures in turn:
 * - the ceiling: a bare `Deno.serve` answering a fixed JSON;
 * - `score serve` (linreg, access log on, to a file) with single-ride
 *   `POST /predict` requests (100 distinct rides, cycled);
 * - the same with 100-ride requests, on node:http and with `--listener deno`;
 * - single-ride requests again with `--log-predictions` to Postgres
 * - single-ride requests again with `--monitor` (drift against January's profile, made by `score profile`)
 *   (BENCH_PG_URL, skipped when unreachable): the log must not slow answers;
 * - single-ride requests again with V8's old space capped
 *   (`DENO_V8_FLAGS=--max-old-space-size=BENCH_HEAP_MB`, 256): what bounds RSS;
 * - single-ride gRPC ModelInfer calls to `score serve --grpc-port` with h2load
 *   (Debian's nghttp2-client, installed when missing), 16 connections x 4
 *   streams (64 calls in flight, as wrk's 64 connections), typed contents;
 * and prints req/s, rows/s, p50/p99 latency, each server's peak RSS (one
 * process per row) and the ratios to both ceilings.
 * The runs alternate for BENCH_ROUNDS rounds (3) of BENCH_SECONDS (10)
 * each; each row shows its best round, to damp other load on the machine.
 * Targets: single-ride >= 50% of the ceiling, p99 < 10 ms.
 * BENCH_ONLY (names separated by "|") keeps only the runs named so (or whose
 * name has one of them), besides the two ceilings:
 * `BENCH_ONLY="score serve, 1 ride per request|ModelInfer"`.
 *
 * A benchmark, not a test: bounded (a few 10 s runs), asserts nothing.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import * as loader from "@grpc/proto-loader";
import { Buffer } from "node:buffer";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, "bench", "out");
const DENO = join(ROOT, "scripts", "deno");
const CONNECTIONS = 64;
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 10);
const WARMUP_SECONDS = 2;
const PG_URL = Deno.env.get("BENCH_PG_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 3);
const HEAP_MB = Number(Deno.env.get("BENCH_HEAP_MB") ?? 256);
const ONLY = Deno.env.get("BENCH_ONLY")?.split("|").map((w) => w.trim()).filter((w) => w !== "");
/** h2load's connections and streams per connection: as many calls in flight as wrk's connections. */
const H2_CLIENTS = 16;
const H2_STREAMS = CONNECTIONS / H2_CLIENTS;
/** The path of the gRPC runs in the run table (they go to h2load, not wrk). */
const GRPC = "grpc";

/** The ceiling: what Deno.serve alone answers on this machine. */
const CEILING_SERVER = `
const body = JSON.stringify({ duration: 26.43883355119793, model_version: "9bceaa0ed43a" });
Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.error(JSON.stringify({ msg: "listening", port })) },
  () => new Response(body, { headers: { "content-type": "application/json" } }));
`;

/** The listener's ceiling: node:http through @hono/node-server, as `score serve` listens (src/http/listen.ts). */
const NODE_CEILING_SERVER = `
import { createAdaptorServer } from "@hono/node-server";
const body = JSON.stringify({ duration: 26.43883355119793, model_version: "9bceaa0ed43a" });
const server = createAdaptorServer({ overrideGlobalObjects: true,
  fetch: () => new Response(body, { headers: { "content-type": "application/json" } }) });
server.listen({ host: "127.0.0.1", port: 0 }, () => console.error(JSON.stringify({ msg: "listening", port: server.address().port })));
`;

interface Result {
  name: string;
  rowsPerRequest: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** The server process's peak resident set (VmHWM) after all rounds. */
  peakRssMb: number;
}

await Deno.mkdir(OUT, { recursive: true });
await ensureTool("wrk", "wrk", ["--version"]);
await ensureTool("h2load", "nghttp2-client", ["--version"]);

const rides = Array.from(
  { length: 100 },
  (_, i) => ({ PULocationID: 1 + (i * 37) % 265, DOLocationID: 1 + (i * 91) % 265, trip_distance: 0.3 + i * 0.17 }),
);
const single = rides.map((r) => JSON.stringify(r));
const hundred = [JSON.stringify(rides)];

const results: Result[] = [];
{
  // Both servers stay up; the runs alternate, and each figure is the best of ROUNDS runs, so that
  // a burst of load from elsewhere on the machine does not decide the ratio.
  // One process per row, so that each peak RSS is its own.
  await using ceiling = await start(DENO, ["eval", CEILING_SERVER], "ceiling");
  await using nodeCeiling = await start(DENO, ["eval", NODE_CEILING_SERVER], "node_ceiling");
  const model = join(ROOT, "models", "ride-duration-linreg");
  const scoreServe = ["serve", "--model", model, "--port", "0"];
  await using serve = await start(join(ROOT, "score"), scoreServe, "serve");
  await using serve100 = await start(join(ROOT, "score"), scoreServe, "serve100");
  await using denoListener = await start(join(ROOT, "score"), [...scoreServe, "--listener", "deno"], "serve_deno");
  await using deno100 = await start(join(ROOT, "score"), [...scoreServe, "--listener", "deno"], "serve_deno100");
  await using capped = await start(join(ROOT, "score"), scoreServe, "capped", {
    DENO_V8_FLAGS: `--max-old-space-size=${HEAP_MB}`,
  });
  // The prediction log must not slow responses: the same single-ride run with it on, if Postgres is there.
  const table = `serve_bench_${crypto.randomUUID().slice(0, 8)}`;
  await using logged = await reachable(PG_URL)
    ? await start(join(ROOT, "score"), [...scoreServe, "--log-predictions", `${PG_URL}/${table}`], "logged")
    : undefined;
  await using grpcServe = await start(join(ROOT, "score"), [...scoreServe, "--grpc-port", "0"], "serve_grpc");
  // Drift monitoring must not slow responses either: the same single-ride run, watched against January's profile.
  const profile = join(OUT, "serve_bench_profile.json");
  const made = await new Deno.Command(join(ROOT, "score"), {
    args: [
      "profile",
      "--model",
      model,
      "--input",
      join(ROOT, "data", "green_tripdata_2021-01.parquet"),
      "--output",
      profile,
      "--no-progress",
    ],
    stdout: "null",
    stderr: "null",
  }).output();
  if (!made.success) throw new Error("score profile failed: the --monitor run needs its reference");
  await using monitored = await start(join(ROOT, "score"), [...scoreServe, "--monitor", profile], "serve_monitor");
  const runs: [string, Server, string, string[], number][] = [
    ["ceiling: bare Deno.serve, fixed JSON", ceiling, "/", single, 1],
    ["ceiling: bare node:http (@hono/node-server), fixed JSON", nodeCeiling, "/", single, 1],
    ["score serve, 1 ride per request", serve, "/predict", single, 1],
    ["score serve, 1 ride per request, --listener deno", denoListener, "/predict", single, 1],
    ["score serve, 100 rides per request", serve100, "/predict", hundred, 100],
    ["score serve, 100 rides per request, --listener deno", deno100, "/predict", hundred, 100],
  ];
  if (logged) runs.push(["score serve, 1 ride per request, --log-predictions", logged, "/predict", single, 1]);
  else console.log(`no Postgres at ${PG_URL}: the --log-predictions run is skipped`);
  runs.push(["score serve, 1 ride per request, --monitor", monitored, "/predict", single, 1]);
  runs.push([`score serve, 1 ride per request, --max-old-space-size=${HEAP_MB}`, capped, "/predict", single, 1]);
  runs.push([
    `score serve --grpc-port, 1 ride per ModelInfer call (h2load, ${H2_CLIENTS} x ${H2_STREAMS} streams)`,
    grpcServe,
    GRPC,
    [],
    1,
  ]);
  if (ONLY !== undefined) {
    const exact = runs.filter(([name]) => ONLY.includes(name)).map(([name]) => name);
    const kept = runs.filter(([name], i) =>
      i < 2 || exact.includes(name) || ONLY.some((w) => !exact.includes(w) && name.includes(w))
    );
    runs.splice(0, runs.length, ...kept);
  }
  const best = new Map<string, Result>();
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round} of ${ROUNDS}`);
    for (const [name, server, path, bodies, rows] of runs) {
      const r = path === GRPC ? await h2load(name, server) : await wrk(name, server, path, bodies, rows);
      if (!(best.get(name)?.requestsPerSecond! >= r.requestsPerSecond)) best.set(name, r);
    }
  }
  results.push(...runs.map(([name, server]) => ({ ...best.get(name)!, peakRssMb: peakRssMb(server.pid) })));
  if (logged) {
    const m = await (await fetch(`http://127.0.0.1:${logged.port}/metrics`)).text();
    const written = Number(/^score_prediction_log_written_total (\S+)$/m.exec(m)?.[1]);
    const dropped = Number(/^score_prediction_log_dropped_total (\S+)$/m.exec(m)?.[1]);
    console.log(`prediction log: ${fmt(written)} rows written to Postgres, ${fmt(dropped)} dropped (so far)`);
    const sql = postgres(PG_URL, { max: 1, onnotice: () => {} });
    await sql`drop table if exists ${sql(table)}`.finally(() => sql.end());
  }
  const grpcMetrics = await (await fetch(`http://127.0.0.1:${grpcServe.port}/metrics`)).text();
  // h2load ends each run with calls in flight: those are CANCELLED, not failures.
  const statuses = [
    ...grpcMetrics.matchAll(/^score_http_requests_total\{[^}]*status="([^"]*)",protocol="grpc"\} (\S+)$/gm),
  ]
    .filter((m) => m[1] !== "OK").map((m) => `${m[1]} ${fmt(Number(m[2]))}`);
  console.log(`gRPC calls answered with a status other than OK: ${statuses.join(", ") || "none"}`);
  const metrics = await (await fetch(`http://127.0.0.1:${serve.port}/metrics`)).text();
  const count = Number(/^score_batch_rows_count\{[^}]*\} (\S+)$/m.exec(metrics)?.[1] ?? NaN);
  const sum = Number(/^score_batch_rows_sum\{[^}]*\} (\S+)$/m.exec(metrics)?.[1] ?? NaN);
  console.log(
    `score serve: ${fmt(sum)} rows in ${fmt(count)} model runs (mean ${
      (sum / count).toFixed(1)
    } rows per run, dynamic batching)`,
  );
}

const top = results[0].requestsPerSecond;
const nodeTop = results[1].requestsPerSecond;
const pct = (n: number, of: number) => `${Math.round((100 * n) / of)}%`;
const lines = [
  `| run (wrk, ${CONNECTIONS} connections, best of ${ROUNDS} x ${SECONDS} s) | req/s | rows/s | p50 | p99 | peak RSS | ` +
  "vs Deno.serve ceiling | vs node:http ceiling | errors |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...results.map((r) =>
    `| ${r.name} | ${fmt(r.requestsPerSecond)} | ${
      r.name.startsWith("ceiling") ? "" : fmt(r.requestsPerSecond * r.rowsPerRequest)
    } | ` +
    `${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${fmt(r.peakRssMb)} MB | ${pct(r.requestsPerSecond, top)} | ${
      pct(r.requestsPerSecond, nodeTop)
    } | ${r.errors} |`
  ),
];
console.log("\n" + lines.join("\n"));
const rest = results.find((r) => r.name === "score serve, 1 ride per request");
const one = rest ?? results[2];
const grpcResult = results.find((r) => r.name.includes("ModelInfer"));
if (grpcResult !== undefined) {
  const vsRest = rest === undefined
    ? ""
    : `, ${pct(grpcResult.requestsPerSecond, rest.requestsPerSecond)} of REST /predict's single-ride req/s`;
  console.log(
    `\ngRPC ModelInfer: ${fmt(grpcResult.requestsPerSecond)} calls/s, ${
      pct(grpcResult.requestsPerSecond, top)
    } of the Deno.serve ceiling${vsRest} in the same run (mean latency in the p50 column: h2load gives no percentiles)`,
  );
}
console.log(
  `\ntargets: single-ride >= 50% of the Deno.serve ceiling: ${one.requestsPerSecond >= top / 2 ? "met" : "MISSED"} ` +
    `(${pct(one.requestsPerSecond, top)}; ${pct(one.requestsPerSecond, nodeTop)} of the node:http ceiling); ` +
    `p99 < 10 ms: ${one.p99Ms < 10 ? "met" : "MISSED"} (${one.p99Ms.toFixed(2)} ms)`,
);
await Deno.writeTextFile(
  join(OUT, "serve_bench.json"),
  JSON.stringify({ date: new Date().toISOString(), results }, null, 2),
);

async function ensureTool(tool: string, debianPackage: string, probe: string[]) {
  if (await runs(tool, probe)) return;
  console.log(`${tool} not found: installing it with apt-get (the Debian package ${debianPackage})`);
  const sudo = Deno.uid() === 0 ? [] : ["sudo"];
  const install = await new Deno.Command(sudo[0] ?? "apt-get", {
    args: [...sudo.slice(1), ...(sudo.length ? ["apt-get"] : []), "install", "-y", debianPackage],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!install.success || !(await runs(tool, probe))) {
    throw new Error(`Cannot install ${tool}; install it (apt-get install -y ${debianPackage}) and run again`);
  }
}

async function reachable(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 0 });
  }
}

async function runs(cmd: string, args: string[]): Promise<boolean> {
  try {
    await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/** Starts a server that logs `{"msg":"listening","port":N}` on stderr; its log goes to bench/out. */
async function start(cmd: string, args: string[], label: string, env: Record<string, string> = {}) {
  const logPath = join(OUT, `serve_bench_${label}.log`);
  const logFile = await Deno.open(logPath, { write: true, create: true, truncate: true });
  // No drain delay: the bench stops each server with SIGTERM and has no load balancer to tell.
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    cwd: ROOT,
    env: { SCORE_DRAIN_DELAY: "0", ...env },
  }).spawn();
  const reader = child.stderr.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  let port: number | undefined;
  let grpcPort: number | undefined;
  while (port === undefined) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`${cmd} ${args.join(" ")} exited before listening:\n${seen}`);
    await logFile.write(value);
    seen += decoder.decode(value);
    const m = /"msg":"listening".*?"port":(\d+)/.exec(seen);
    if (m) port = Number(m[1]);
    const g = /"msg":"listening".*?"grpc_port":(\d+)/.exec(seen);
    if (g) grpcPort = Number(g[1]);
  }
  // Keep draining its log to the file, as a container runtime would.
  const copying = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await logFile.write(value);
    }
  })();
  return {
    port,
    grpcPort,
    // ./score and scripts/deno exec, so this is the Deno process itself.
    pid: child.pid,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await copying;
      logFile.close();
    },
  };
}

type Server = Awaited<ReturnType<typeof start>>;

/** The process's peak resident set so far, from Linux's /proc. */
function peakRssMb(pid: number): number {
  const kb = /^VmHWM:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1];
  return kb === undefined ? NaN : Number(kb) / 1024;
}

async function wrk(
  name: string,
  { port }: Server,
  path: string,
  bodies: string[],
  rowsPerRequest: number,
): Promise<Result> {
  const script = join(OUT, "serve_bench.lua");
  await Deno.writeTextFile(script, luaScript(path, bodies));
  const url = `http://127.0.0.1:${port}`;
  await runWrk(url, script, WARMUP_SECONDS);
  const out = await runWrk(url, script, SECONDS);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/\s50%\s+([\d.]+\w+)/.exec(out)?.[1]);
  const p99 = toMs(/\s99%\s+([\d.]+\w+)/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const r = { name, rowsPerRequest, requestsPerSecond: rps, p50Ms: p50, p99Ms: p99, errors, peakRssMb: NaN };
  console.log(`${name}: ${fmt(rps)} req/s, p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, errors ${errors}`);
  return r;
}

/**
 * h2load sending one single-ride ModelInfer call (typed contents) over and over, 64 in flight. h2load counts
 * HTTP-level failures; a gRPC status other than OK comes in trailers, so the caller reads those from /metrics.
 */
async function h2load(name: string, { grpcPort }: Server): Promise<Result> {
  const body = join(OUT, "serve_bench_grpc.bin");
  const definition = loader.loadSync(join(ROOT, "src", "grpc", "grpc_predict_v2.proto"), { keepCase: true });
  const message = (definition["inference.ModelInferRequest"] as unknown as { serialize(v: unknown): Uint8Array })
    .serialize({
      model_name: "ride-duration-linreg",
      inputs: [
        { name: "PULocationID", datatype: "INT64", shape: [1], contents: { int64_contents: [rides[0].PULocationID] } },
        { name: "DOLocationID", datatype: "INT64", shape: [1], contents: { int64_contents: [rides[0].DOLocationID] } },
        { name: "trip_distance", datatype: "FP64", shape: [1], contents: { fp64_contents: [rides[0].trip_distance] } },
      ],
    });
  // gRPC's length-prefixed message: no compression flag, then the length, big-endian.
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  await Deno.writeFile(body, frame);
  const url = `http://127.0.0.1:${grpcPort}/inference.GRPCInferenceService/ModelInfer`;
  const run = async (seconds: number) => {
    const out = await new Deno.Command("h2load", {
      args: [
        "-c",
        String(H2_CLIENTS),
        "-m",
        String(H2_STREAMS),
        "-D",
        String(seconds),
        "-d",
        body,
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        url,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`h2load failed: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout);
  };
  await run(WARMUP_SECONDS);
  const out = await run(SECONDS);
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1]);
  const failed = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/
    .exec(out);
  const errors = failed ? failed.slice(1).reduce((a, b) => a + Number(b), 0) : NaN;
  const mean = toMs(/time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1]);
  console.log(`${name}: ${fmt(rps)} calls/s, mean ${mean.toFixed(2)} ms, errors ${errors}`);
  return { name, rowsPerRequest: 1, requestsPerSecond: rps, p50Ms: mean, p99Ms: NaN, errors, peakRssMb: NaN };
}

/** A latency for the table; "n/a" when the tool does not give it. */
function ms(v: number): string {
  return Number.isNaN(v) ? "n/a" : `${v.toFixed(2)} ms`;
}

async function runWrk(url: string, script: string, seconds: number): Promise<string> {
  const out = await new Deno.Command("wrk", {
    args: ["-t", "2", "-c", String(CONNECTIONS), "-d", `${seconds}s`, "--latency", "-s", script, url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr)}`);
  return text;
}

/** A wrk script that cycles through pre-built POST requests. */
function luaScript(path: string, bodies: string[]): string {
  const quoted = bodies.map((b) => `[==[${b}]==]`).join(",\n");
  return `
local bodies = {${quoted}}
local requests = {}
local i = 0
init = function(args)
  for k, b in ipairs(bodies) do
    requests[k] = wrk.format("POST", "${path}", { ["Content-Type"] = "application/json" }, b)
  end
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
`;
}

function toMs(text: string | undefined): number {
  if (text === undefined) return NaN;
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "ms" ? v : m[2] === "s" ? v * 1000 : v * 60_000;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
