/**
 * `make bench-start` (`deno task bench:start`): how long each command takes
 * from exec to done (or to ready), against the floor: `deno run` of a
 * one-line program, measured in the same rounds.
 *
 * Each round runs every case once, in turn (so a slow minute on the machine
 * hits every case alike); the table gives each case's median over
 * BENCH_RUNS rounds (7) and its ratio to the floor's median:
 * - the floor; raw onnxruntime making a session of the linear model in a
 *   one-file program (what any command that scores pays before its own
 *   work); `./score --help` and each subcommand's `--help`;
 * - `./score batch` of a 1-row CSV to a CSV, and `./score inspect` of a
 *   shipped model: wall, CPU (user + system, from bash's `times`) and peak
 *   RSS (from /usr/bin/time);
 * - `./score serve`, one worker and the default (a worker a CPU): exec to
 *   the first 200 on POST /predict (polled on a free port), CPU and peak
 *   RSS read from /proc at that moment;
 * - `./score consume --dry-run`: exec to the first message consumed (one
 *   event waiting in its queue; the prediction printed on stdout), on the
 *   RabbitMQ at BENCH_AMQP_URL (amqp://guest:guest@127.0.0.1:5672), random
 *   names, deleted after.
 * - `./score inspect` of a large model (a 53 MB tree ensemble, built by
 *   bench/make_forest_model.py with Debian's python3-onnx; skipped, saying
 *   so, without it) against raw onnxruntime making a session of the same
 *   bytes in a one-file program: what loading a user's forest costs beyond
 *   onnxruntime's own work.
 * Goals: --help <= 0.10 s, a 1-row batch and inspect
 * <= 0.25 s (batch <= 120 MB), serve and consume ready <= 0.30 s.
 *
 * A benchmark, not a test: bounded, asserts nothing.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Buffer } from "node:buffer";
import type { ChannelModel, ConfirmChannel } from "amqplib";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SCORE = join(ROOT, "score");
const MODEL = join(ROOT, "models", "ride-duration-linreg");
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 7);
const AMQP_URL = Deno.env.get("BENCH_AMQP_URL") ?? "amqp://guest:guest@127.0.0.1:5672";
const READY_TIMEOUT_MS = 60_000;
const COMMANDS = ["batch", "consume", "inspect", "profile", "publish", "serve"];

/** One run of a case: seconds from exec to done/ready, CPU seconds, peak RSS in bytes (when known). */
interface Sample {
  wall: number;
  cpu?: number;
  rss?: number;
}

interface Case {
  name: string;
  goal?: string;
  run: () => Promise<Sample>;
}

const work = await Deno.makeTempDir({ prefix: "score-start-bench-" });
const oneLine = join(work, "one.ts");
await Deno.writeTextFile(oneLine, "console.log(1);\n");
const csv = join(work, "one_ride.csv");
await Deno.writeTextFile(csv, "ride_id,PULocationID,DOLocationID,trip_distance\n1,130,205,3.66\n");

/**
 * Runs argv to its end: wall measured here; CPU (user + system, to the millisecond) from bash's `times` for its
 * children, peak RSS from /usr/bin/time (the child's getrusage, whose CPU figures have only 10 ms steps).
 */
async function timed(argv: string[]): Promise<Sample> {
  const stats = join(work, "time.txt");
  const t = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-o", stats, "-f", "%M", "bash", "-c", '"$@" >/dev/null || exit; times', "_", ...argv],
    stdout: "piped",
    stderr: "piped",
    cwd: work,
  }).output();
  const wall = (performance.now() - t) / 1000;
  if (!out.success) throw new Error(`${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  // `times` prints the shell's user and system time, then its children's: "0m0.047s 0m0.042s".
  const children = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  const [user, system] = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => 60 * Number(m[1]) + Number(m[2]));
  const maxKb = Number((await Deno.readTextFile(stats)).trim().split("\n").at(-1));
  return { wall, cpu: user + system, rss: maxKb * 1024 };
}

/** CPU seconds (user + system) and peak RSS of a live process, from /proc (./score execs deno: the same pid). */
async function procStats(pid: number): Promise<{ cpu: number; rss: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[11], [12]: utime, stime in clock ticks (field 14 and 15 of stat(5)); 100 ticks a second on Linux.
  const cpu = (Number(fields[11]) + Number(fields[12])) / 100;
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return { cpu, rss: hwm * 1024 };
}

/** The large model's folder, or why there is none (python3-onnx missing). */
async function forestModel(): Promise<string | { skipped: string }> {
  const dir = join(work, "forest");
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [join(ROOT, "bench", "make_forest_model.py"), dir],
    stdout: "piped",
    stderr: "piped",
  }).output().catch((err) => ({ success: false, stderr: new TextEncoder().encode(String(err)) }));
  if (!out.success) return { skipped: new TextDecoder().decode(out.stderr).trim().split("\n").at(-1) ?? "" };
  return dir;
}

const forest = await forestModel();
const rawSession = join(work, "raw_session.ts");
await Deno.writeTextFile(
  rawSession,
  // onnxruntime's telemetry off, as score turns it off: set before onnxruntime loads.
  `Deno.env.set("ORT_DISABLE_TELEMETRY", "1");\n` +
    `const ort = await import("onnxruntime-node");\n` +
    `const bytes = await Deno.readFile(Deno.args[0]);\n` +
    `await ort.InferenceSession.create(bytes, { logSeverityLevel: 4, intraOpNumThreads: 1 });\n`,
);

/** The one-file program making a session of `onnx`, as a whole process. */
function rawSessionRun(onnx: string): Promise<Sample> {
  return timed([Deno.execPath(), "run", "-A", "--quiet", "--config", join(ROOT, "deno.json"), rawSession, onnx]);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
  await child.status;
}

/** `score serve` to its first 200, with `workers` as its --workers (the default when undefined). */
async function serveRun(workers?: string): Promise<Sample> {
  const port = freePort();
  const body = JSON.stringify({ PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 });
  const t = performance.now();
  const child = new Deno.Command(SCORE, {
    args: [
      ...["serve", "--model", MODEL, "--port", String(port), "--drain-delay", "0"],
      ...(workers === undefined ? [] : ["--workers", workers]),
    ],
    stdout: "null",
    stderr: "null",
    cwd: work,
  }).spawn();
  try {
    while (performance.now() - t < READY_TIMEOUT_MS) {
      const res = await fetch(`http://127.0.0.1:${port}/predict`, { method: "POST", body }).catch(() => null);
      if (res !== null) {
        await res.body?.cancel();
        if (res.status === 200) {
          const wall = (performance.now() - t) / 1000;
          return { wall, ...await procStats(child.pid) };
        }
      }
      // not listening yet: poll again soon (a connection refused costs microseconds)
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error(`score serve answered no 200 on /predict within ${READY_TIMEOUT_MS} ms`);
  } finally {
    await stop(child);
  }
}

let amqp: { conn: ChannelModel; ch: ConfirmChannel } | undefined;
const tag = crypto.randomUUID().slice(0, 8);
const exchanges: string[] = [];
const queues: string[] = [];

async function consumeRun(): Promise<Sample> {
  if (amqp === undefined) {
    const { connect } = await import("amqplib");
    const conn = await connect(AMQP_URL);
    amqp = { conn, ch: await conn.createConfirmChannel() };
  }
  const n = exchanges.length;
  const exchange = `bench_start_events_${tag}_${n}`;
  const queue = `bench_start_q_${tag}_${n}`;
  exchanges.push(exchange, `${exchange}.dead-letter`);
  queues.push(queue, `${queue}.dead-letter`);
  // score consume declares its queue and binds it; the exchange is declared here so the event can be published
  await amqp.ch.assertExchange(exchange, "topic", { durable: true });
  const t = performance.now();
  const child = new Deno.Command(SCORE, {
    args: ["consume", "--model", MODEL, "--amqp-url", AMQP_URL, "--exchange", exchange, "--queue", queue, "--dry-run"],
    stdout: "piped",
    stderr: "piped",
    cwd: work,
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  const timer = setTimeout(() => reader.cancel().catch(() => {}), READY_TIMEOUT_MS);
  try {
    await publishOnceRouted(exchange, t);
    const { value } = await reader.read();
    if (value === undefined) throw new Error(`score consume printed nothing: ${(await stderr).slice(-2000)}`);
    const wall = (performance.now() - t) / 1000;
    return { wall, ...await procStats(child.pid) };
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
    await stop(child);
    await stderr.catch(() => "");
  }
}

/**
 * Publishes one ride, mandatory, until the broker routes it: an unroutable message comes back (basic.return, which
 * the broker sends before the confirm) and is sent again, so it is published as soon as score has bound its queue.
 */
async function publishOnceRouted(exchange: string, since: number): Promise<void> {
  const { ch } = amqp!;
  const body = Buffer.from(
    JSON.stringify({ ride: { PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }, ride_id: 1 }),
  );
  while (performance.now() - since < READY_TIMEOUT_MS) {
    let returned = false;
    const onReturn = () => returned = true;
    ch.on("return", onReturn);
    try {
      await new Promise<void>((resolve, reject) =>
        ch.publish(
          exchange,
          "ride",
          body,
          { mandatory: true, contentType: "application/json" },
          (err) => err ? reject(err) : resolve(),
        )
      );
    } finally {
      ch.off("return", onReturn);
    }
    if (!returned) return;
  }
  throw new Error(`score consume bound no queue to ${exchange} within ${READY_TIMEOUT_MS} ms`);
}

const cases: Case[] = [
  {
    name: "`deno run` of `console.log(1)` (the floor)",
    run: () => timed([Deno.execPath(), "run", "--quiet", oneLine]),
  },
  {
    // What any command that scores pays before its own work: onnxruntime-node loaded and one session made.
    name: "raw onnxruntime: a session of the linear model, in a one-file program",
    run: () => rawSessionRun(join(MODEL, "model.onnx")),
  },
  { name: "`./score --help`", goal: "<= 0.10 s", run: () => timed([SCORE, "--help"]) },
  ...COMMANDS.map((c) => ({
    name: `\`./score ${c} --help\``,
    goal: "<= 0.10 s",
    run: () => timed([SCORE, c, "--help"]),
  })),
  {
    name: "`./score batch` of a 1-row CSV",
    goal: "<= 0.25 s, 120 MB",
    run: () => timed([SCORE, "batch", "--model", MODEL, "--input", csv, "--output", join(work, "out.csv")]),
  },
  { name: "`./score inspect ride-duration-linreg`", goal: "<= 0.25 s", run: () => timed([SCORE, "inspect", MODEL]) },
  // One worker: the start of one thread, comparable with earlier runs; then the default, a worker a CPU.
  {
    name: "`./score serve --workers 1`, exec to first 200 on /predict",
    goal: "<= 0.30 s",
    run: () => serveRun("1"),
  },
  {
    name: `\`./score serve\` (a worker a CPU: ${navigator.hardwareConcurrency}), exec to first 200 on /predict`,
    goal: "<= 0.30 s",
    run: () => serveRun(),
  },
  { name: "`./score consume`, exec to first message consumed", goal: "<= 0.30 s", run: consumeRun },
  ...(typeof forest === "string"
    ? [
      {
        name: "raw onnxruntime: a session of the 53 MB forest, in a one-file program",
        run: () => rawSessionRun(join(forest, "model.onnx")),
      },
      { name: "`./score inspect` of the 53 MB forest", run: () => timed([SCORE, "inspect", forest]) },
    ]
    : []),
];
if (typeof forest !== "string") console.error(`the large model's cases are skipped: ${forest.skipped}`);

const only = Deno.env.get("BENCH_ONLY");
const selected = only === undefined ? cases : cases.filter((c, i) => i === 0 || c.name.includes(only));
const samples = new Map<Case, Sample[]>(selected.map((c) => [c, []]));
try {
  // warm-up round (code cache, page cache), not counted
  for (const c of selected) await c.run();
  for (let round = 0; round < RUNS; round++) {
    for (const c of selected) samples.get(c)!.push(await c.run());
    console.error(`round ${round + 1}/${RUNS} done`);
  }
} finally {
  if (amqp !== undefined) {
    for (const q of queues) await amqp.ch.deleteQueue(q).catch(() => undefined);
    for (const e of exchanges) await amqp.ch.deleteExchange(e).catch(() => undefined);
    await amqp.conn.close().catch(() => undefined);
  }
  await Deno.remove(work, { recursive: true });
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const floor = median(samples.get(selected[0])!.map((s) => s.wall));
const floorCpu = median(samples.get(selected[0])!.map((s) => s.cpu ?? NaN));
const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
console.log(`\nmedian of ${RUNS} runs, load average ${load} (${navigator.hardwareConcurrency} cores)\n`);
console.log("| command | wall | x floor | CPU | CPU x floor | peak RSS | goal |");
console.log("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
for (const [c, s] of samples) {
  const wall = median(s.map((x) => x.wall));
  const cpus = s.flatMap((x) => x.cpu === undefined ? [] : [x.cpu]);
  const rsss = s.flatMap((x) => x.rss === undefined ? [] : [x.rss]);
  console.log(
    `| ${c.name} | ${wall.toFixed(3)} s | ${(wall / floor).toFixed(1)}x | ${
      cpus.length ? median(cpus).toFixed(3) + " s" : ""
    } | ${cpus.length ? (median(cpus) / floorCpu).toFixed(1) + "x" : ""} | ${
      rsss.length ? Math.round(median(rsss) / 1e6) + " MB" : ""
    } | ${c.goal ?? ""} |`,
  );
}
