/**
 * `deno task bench:serve`: how close `score serve` comes to the HTTP
 * ceiling of this machine, in one run.
 *
 * With wrk (installed with apt-get when missing) at 64 connections, 127.0.0.1
 * only, it measures in turn:
 * - the ceiling: a bare `Deno.serve` answering a fixed JSON after reading the body;
 * - a minimal model server (`bench/minimal_model_server.ts`): bare `Deno.serve` reading what any server must of a
 *   request, the JSON, the linear model through onnxruntime-node in batches, nothing else: the least a model server
 *   on this stack costs, so that the share of the gap that is score's own shows;
 * - `score serve` (linreg, access log on, to a file, the default guarded
 *   listener) with single-ride `POST /predict` requests (100 distinct rides,
 *   cycled), with one worker and with `--workers 2`, and with `--listener deno`;
 * - the course's Flask app (`bench/course_flask_app.py`) on gunicorn with 2
 *   workers, the same rides (Debian's python3-flask, python3-sklearn and
 *   gunicorn, installed when missing; skipped, saying so, when they cannot be);
 * - the same with 100-ride requests, on the guarded listener and with `--listener deno`;
 * - single-ride requests again with `--log-predictions` to Postgres
 * - single-ride requests again with `--monitor` (drift against January's profile, made by `score profile`)
 *   (BENCH_PG_URL, skipped when unreachable): the log must not slow answers;
 * - single-ride requests again with V8's old space capped
 *   (`DENO_V8_FLAGS=--max-old-space-size=BENCH_HEAP_MB`, 256): what bounds RSS;
 * - single-ride gRPC ModelInfer calls to `score serve --grpc-port` with h2load
 *   (Debian's nghttp2-client, installed when missing), 16 connections x 4
 *   streams (64 calls in flight, as wrk's 64 connections), typed contents;
 * and prints req/s, rows/s, p50/p99 latency, the server's CPU time (utime +
 * stime of its process tree, from /proc, over the measured runs), requests per
 * server CPU-second and its ratio to the bare `Deno.serve`'s, each server's
 * peak RSS and the ratio to the Flask app.
 * The runs alternate for BENCH_ROUNDS rounds (2) of BENCH_SECONDS (5) each;
 * req/s, p50 and p99 are the best round's (to damp other load on the machine),
 * requests per CPU-second are all rounds' requests over all rounds' CPU time:
 * on a machine whose load generator and other work share the cores, that
 * ratio moves far less than req/s.
 * Targets (single ride, one worker): >= 60% of the ceiling's requests per
 * CPU-second, p99 < 5 ms, >= 10x the Flask app's req/s.
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
const SECONDS = Number(Deno.env.get("BENCH_SECONDS") ?? 5);
const WARMUP_SECONDS = 1;
const PG_URL = Deno.env.get("BENCH_PG_URL") ?? "postgres://postgres@127.0.0.1:5432/test";
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 2);
const HEAP_MB = Number(Deno.env.get("BENCH_HEAP_MB") ?? 256);
const ONLY = Deno.env.get("BENCH_ONLY")?.split("|").map((w) => w.trim()).filter((w) => w !== "");
/** h2load's connections and streams per connection: as many calls in flight as wrk's connections. */
const H2_CLIENTS = 16;
const H2_STREAMS = CONNECTIONS / H2_CLIENTS;
/** The path of the gRPC runs in the run table (they go to h2load, not wrk). */
const GRPC = "grpc";

/** The ceiling: what Deno.serve alone answers on this machine, reading each request's body as a server must. */
const CEILING_SERVER = `
const body = JSON.stringify({ duration: 26.43883355119793, model_version: "9bceaa0ed43a" });
Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.error(JSON.stringify({ msg: "listening", port })) },
  async (req) => { await req.text(); return new Response(body, { headers: { "content-type": "application/json" } }); });
`;

/** The third ceiling: the least a model server does on this stack (see the file). */
const MINIMAL = "ceiling: a minimal model server (Deno.serve, the request read, JSON, the model in batches)";

/** node:http's ceiling: through @hono/node-server, as `score serve --listener node` listens (src/http/listen.ts). */
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
  /** Requests answered and the server's CPU seconds (its process tree), summed over the measured runs. */
  requests: number;
  cpuSeconds: number;
}

/** The course's Flask app's row, for the ratio to it. */
const FLASK = "the course's Flask app on gunicorn, 2 workers, 1 ride per request";

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
  await using minimal = await start(
    DENO,
    [
      "run",
      "--allow-all",
      join(ROOT, "bench", "minimal_model_server.ts"),
      join(ROOT, "models", "ride-duration-linreg", "model.onnx"),
    ],
    "minimal",
  );
  const model = join(ROOT, "models", "ride-duration-linreg");
  const base = ["serve", "--model", model, "--port", "0"];
  // One worker unless a row says otherwise: the rows compare with each other and with earlier runs (the default, auto,
  // is one a usable CPU).
  const scoreServe = [...base, "--workers", "1"];
  await using serve = await start(join(ROOT, "score"), scoreServe, "serve");
  await using twoWorkers = await start(join(ROOT, "score"), [...base, "--workers", "2"], "serve_workers2");
  await using flask = await startFlask();
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
  // Drift monitoring must not slow responses either: the same single-ride run, watched against January's profile, its
  // window computed every second (not every minute) so that every run holds several computations.
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
  await using monitored = await start(join(ROOT, "score"), [
    ...scoreServe,
    "--monitor",
    profile,
    "--monitor-period",
    "1",
  ], "serve_monitor");
  const runs: [string, Server, string, string[], number][] = [
    ["ceiling: bare Deno.serve, fixed JSON", ceiling, "/", single, 1],
    ["ceiling: bare node:http (@hono/node-server), fixed JSON", nodeCeiling, "/", single, 1],
    [MINIMAL, minimal, "/predict", single, 1],
    ["score serve, 1 ride per request", serve, "/predict", single, 1],
    ["score serve --workers 2, 1 ride per request", twoWorkers, "/predict", single, 1],
    ["score serve, 1 ride per request, --listener deno", denoListener, "/predict", single, 1],
  ];
  if (flask) runs.push([FLASK, flask, "/predict", single, 1]);
  runs.push(
    ["score serve, 100 rides per request", serve100, "/predict", hundred, 100],
    ["score serve, 100 rides per request, --listener deno", deno100, "/predict", hundred, 100],
  );
  if (logged) runs.push(["score serve, 1 ride per request, --log-predictions", logged, "/predict", single, 1]);
  else console.log(`no Postgres at ${PG_URL}: the --log-predictions run is skipped`);
  runs.push(["score serve, 1 ride per request, --monitor --monitor-period 1", monitored, "/predict", single, 1]);
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
    const kept = runs.filter(([name]) =>
      name.startsWith("ceiling") || exact.includes(name) || ONLY.some((w) => !exact.includes(w) && name.includes(w))
    );
    runs.splice(0, runs.length, ...kept);
  }
  const best = new Map<string, Result>();
  const spent = new Map<string, { requests: number; cpuSeconds: number }>();
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round} of ${ROUNDS}`);
    for (const [name, server, path, bodies, rows] of runs) {
      const r = path === GRPC ? await h2load(name, server) : await wrk(name, server, path, bodies, rows);
      const sum = spent.get(name) ?? { requests: 0, cpuSeconds: 0 };
      sum.requests += r.requests;
      sum.cpuSeconds += r.cpuSeconds;
      spent.set(name, sum);
      if (!(best.get(name)?.requestsPerSecond! >= r.requestsPerSecond)) best.set(name, r);
    }
  }
  results.push(
    ...runs.map(([name, server]) => ({ ...best.get(name)!, ...spent.get(name)!, peakRssMb: peakRssMb(server.pid) })),
  );
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

const perCpu = (r: Result) => r.requests / r.cpuSeconds;
const top = results[0].requestsPerSecond;
const topPerCpu = perCpu(results[0]);
const flaskResult = results.find((r) => r.name === FLASK);
const pct = (n: number, of: number) => `${Math.round((100 * n) / of)}%`;
const times = (n: number, of: number | undefined) => of === undefined ? "" : `${(n / of).toFixed(1)}x`;
const lines = [
  `| run (${CONNECTIONS} connections, best of ${ROUNDS} x ${SECONDS} s; CPU over all rounds) | req/s | rows/s | p50 | p99 | ` +
  "server CPU | req per CPU-s | vs Deno.serve per CPU-s | vs Deno.serve req/s | vs Flask req/s | peak RSS | errors |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...results.map((r) =>
    `| ${r.name} | ${fmt(r.requestsPerSecond)} | ${
      r.name.startsWith("ceiling") ? "" : fmt(r.requestsPerSecond * r.rowsPerRequest)
    } | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ${r.cpuSeconds.toFixed(1)} s | ${fmt(perCpu(r))} | ${
      pct(perCpu(r), topPerCpu)
    } | ${pct(r.requestsPerSecond, top)} | ${times(r.requestsPerSecond, flaskResult?.requestsPerSecond)} | ${
      fmt(r.peakRssMb)
    } MB | ${r.errors} |`
  ),
];
console.log("\n" + lines.join("\n"));
const rest = results.find((r) => r.name === "score serve, 1 ride per request");
const minimalResult = results.find((r) => r.name === MINIMAL);
const grpcResult = results.find((r) => r.name.includes("ModelInfer"));
if (grpcResult !== undefined) {
  const vsRest = rest === undefined
    ? ""
    : `, ${pct(grpcResult.requestsPerSecond, rest.requestsPerSecond)} of REST /predict's single-ride req/s`;
  console.log(
    `\ngRPC ModelInfer: ${fmt(grpcResult.requestsPerSecond)} calls/s, ${
      pct(perCpu(grpcResult), topPerCpu)
    } of the Deno.serve ceiling per CPU-second${vsRest} in the same run (mean latency in the p50 column: h2load gives no percentiles)`,
  );
}
// The targets are the single-ride, one-worker run's: a BENCH_ONLY that leaves it out has none to report.
if (rest !== undefined) {
  const vsFlask = flaskResult === undefined
    ? "not measured (no Flask app)"
    : `${rest.requestsPerSecond >= 10 * flaskResult.requestsPerSecond ? "met" : "MISSED"} (${
      times(rest.requestsPerSecond, flaskResult.requestsPerSecond)
    })`;
  console.log(
    `\ntargets (${rest.name}): >= 60% of the Deno.serve ceiling per CPU-second: ${
      perCpu(rest) >= 0.6 * topPerCpu ? "met" : "MISSED"
    } (${pct(perCpu(rest), topPerCpu)}; req/s ${pct(rest.requestsPerSecond, top)}${
      minimalResult === undefined
        ? ""
        : `; the minimal model server: ${pct(perCpu(minimalResult), topPerCpu)}, score serve ${
          pct(perCpu(rest), perCpu(minimalResult))
        } of it`
    }); p99 < 5 ms: ${rest.p99Ms < 5 ? "met" : "MISSED"} (${
      rest.p99Ms.toFixed(2)
    } ms); >= 10x the Flask app: ${vsFlask}`,
  );
}
console.log(`load average at the end: ${Deno.loadavg().map((l) => l.toFixed(2)).join(", ")}`);
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
    const m = /"msg":"listening".*?"port":(\d+)/.exec(seen) ?? /Listening at: http:\/\/[^:]+:(\d+)/.exec(seen);
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

/**
 * The course's Flask app on gunicorn (2 sync workers, as the course runs it), or undefined, said why, when
 * Debian's gunicorn, python3-flask or python3-sklearn are missing and cannot be installed.
 */
async function startFlask(): Promise<Server | undefined> {
  const python = "/usr/bin/python3";
  const missing = async () =>
    !(await runs(python, ["-c", "import flask, sklearn"])) || !(await runs("gunicorn", ["--version"]));
  if (await missing()) {
    console.log("gunicorn, Flask or scikit-learn not found: installing them with apt-get (Debian's packages)");
    const sudo = Deno.uid() === 0 ? [] : ["sudo"];
    await new Deno.Command(sudo[0] ?? "apt-get", {
      args: [...(sudo.length ? ["apt-get"] : []), "install", "-y", "gunicorn", "python3-flask", "python3-sklearn"],
      stdout: "inherit",
      stderr: "inherit",
    }).output().catch(() => undefined);
    if (await missing()) {
      console.log(
        "the course's Flask app is skipped: install gunicorn, python3-flask and python3-sklearn (apt-get) to compare",
      );
      return undefined;
    }
  }
  // gunicorn prints the port it was given: one that was free a moment ago.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return await start(
    "gunicorn",
    [
      "--workers",
      "2",
      "--bind",
      `127.0.0.1:${port}`,
      "--chdir",
      join(ROOT, "bench"),
      "course_flask_app:app",
    ],
    "flask",
    { COURSE_MODEL: join(ROOT, "data", "course", "lin_reg.bin") },
  );
}

/** The process and its descendants (gunicorn's workers), from Linux's /proc. */
function processTree(pid: number): number[] {
  const tree = [pid];
  try {
    for (const task of Deno.readDirSync(`/proc/${pid}/task`)) {
      const children = Deno.readTextFileSync(`/proc/${pid}/task/${task.name}/children`).trim();
      for (const child of children.split(" ").filter((c) => c !== "")) tree.push(...processTree(Number(child)));
    }
  } catch {
    // The process ended meanwhile: it has no more children.
  }
  return tree;
}

/** CPU seconds (user + system) the process tree has used so far: every thread of every process. */
function cpuSeconds(pid: number): number {
  const ticks = 100; // USER_HZ: what /proc/<pid>/stat counts in, 100 on Linux
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      const stat = Deno.readTextFileSync(`/proc/${p}/stat`);
      // After the command's name (in parentheses, which may hold spaces): utime and stime are fields 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(fields[11]) + Number(fields[12])) / ticks;
    } catch {
      // Gone: its time went with it (gunicorn does not replace workers during a run).
    }
  }
  return total;
}

/** The process tree's peak resident set so far (the sum over its processes), from Linux's /proc. */
function peakRssMb(pid: number): number {
  let kb = 0;
  for (const p of processTree(pid)) {
    const peak = /^VmHWM:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${p}/status`))?.[1];
    if (peak === undefined) return NaN;
    kb += Number(peak);
  }
  return kb / 1024;
}

async function wrk(
  name: string,
  { port, pid }: Server,
  path: string,
  bodies: string[],
  rowsPerRequest: number,
): Promise<Result> {
  const script = join(OUT, "serve_bench.lua");
  await Deno.writeTextFile(script, luaScript(path, bodies));
  const url = `http://127.0.0.1:${port}`;
  await runWrk(url, script, WARMUP_SECONDS);
  const cpuBefore = cpuSeconds(pid);
  const out = await runWrk(url, script, SECONDS);
  const cpu = cpuSeconds(pid) - cpuBefore;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/\s50%\s+([\d.]+\w+)/.exec(out)?.[1]);
  const p99 = toMs(/\s99%\s+([\d.]+\w+)/.exec(out)?.[1]);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  const r = {
    name,
    rowsPerRequest,
    requestsPerSecond: rps,
    p50Ms: p50,
    p99Ms: p99,
    errors,
    peakRssMb: NaN,
    requests,
    cpuSeconds: cpu,
  };
  console.log(
    `${name}: ${fmt(rps)} req/s, p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, server CPU ${cpu.toFixed(2)} s (${
      fmt(requests / cpu)
    } req per CPU-s), errors ${errors}`,
  );
  return r;
}

/**
 * h2load sending one single-ride ModelInfer call (typed contents) over and over, 64 in flight. h2load counts
 * HTTP-level failures; a gRPC status other than OK comes in trailers, so the caller reads those from /metrics.
 */
async function h2load(name: string, { grpcPort, pid }: Server): Promise<Result> {
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
  const cpuBefore = cpuSeconds(pid);
  const out = await run(SECONDS);
  const cpu = cpuSeconds(pid) - cpuBefore;
  const requests = Number(/requests: \d+ total, \d+ started, (\d+) done/.exec(out)?.[1]);
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out)?.[1]);
  const failed = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/
    .exec(out);
  const errors = failed ? failed.slice(1).reduce((a, b) => a + Number(b), 0) : NaN;
  const mean = toMs(/time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1]);
  console.log(`${name}: ${fmt(rps)} calls/s, mean ${mean.toFixed(2)} ms, errors ${errors}`);
  return {
    name,
    rowsPerRequest: 1,
    requestsPerSecond: rps,
    p50Ms: mean,
    p99Ms: NaN,
    errors,
    peakRssMb: NaN,
    requests,
    cpuSeconds: cpu,
  };
}

/** A latency for the table; "n/a" when the tool does not give it. */
function ms(v: number): string {
  return Number.isNaN(v) ? "n/a" : `${v.toFixed(2)} ms`;
}

async function runWrk(url: string, script: string, seconds: number): Promise<string> {
  const out = await new Deno.Command("wrk", {
    args: ["-t", "1", "-c", String(CONNECTIONS), "-d", `${seconds}s`, "--latency", "-s", script, url],
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
