/**
 * Fills Deno's V8 code cache (in `DENO_DIR`) by running every command once,
 * as the container image is built: a `DENO_DIR` that only ran `deno install`
 * holds no compiled code, and each first run would compile every module
 * again (1.35-1.8x slower).
 *
 *   deno run --allow-all scripts/warm_cache.ts score models/ride-duration-linreg
 *
 * The first argument is the launcher (it must pass V8 the flags the service
 * runs with: V8 rejects a cache made under other flags), the second a model.
 * Commands that serve or consume run until they are ready (or, with no
 * broker at build time, until they retry the connection), then get SIGTERM.
 * Every run is bounded.
 */
const [score, model] = Deno.args;
if (score === undefined || model === undefined) {
  console.error("usage: warm_cache.ts <score launcher> <model directory>");
  Deno.exit(64);
}
const TIMEOUT_MS = 120_000;
const dir = await Deno.makeTempDir({ prefix: "score-warm-" });
const csv = `${dir}/ride.csv`;
await Deno.writeTextFile(csv, "ride_id,PULocationID,DOLocationID,trip_distance\n1,130,205,3.66\n");
const noBroker = "amqp://127.0.0.1:1";
const noDatabase = "postgres://score@127.0.0.1:1/warm";

/**
 * Runs `score args`: to its end, or, with `until`, until a line of its stderr matches (then SIGTERM, and `then` runs
 * with that line first). Fails on a non-zero exit, or when nothing matched in time.
 */
async function run(args: string[], until?: RegExp, then?: (line: string) => Promise<void>): Promise<void> {
  const child = new Deno.Command(score, { args, stdout: "null", stderr: "piped", stdin: "null" }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS);
  let tail = "";
  let matched = false;
  try {
    const lines = child.stderr.pipeThrough(new TextDecoderStream());
    let pending = "";
    for await (const chunk of lines) {
      pending += chunk;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      for (const line of parts) {
        tail = (tail + line + "\n").slice(-2000);
        if (until !== undefined && !matched && until.test(line)) {
          matched = true;
          await then?.(line);
          child.kill("SIGTERM");
        }
      }
    }
    const status = await child.status;
    if (until !== undefined ? !matched : !status.success) {
      throw new Error(`score ${args.join(" ")} did not ${until ? `log ${until}` : "succeed"}: ${tail}`);
    }
  } finally {
    clearTimeout(timer);
  }
  console.error(`warmed: score ${args.join(" ")}`);
}

try {
  await run(["--help"]);
  for (const command of ["batch", "consume", "inspect", "merge-drift", "profile", "publish", "serve"]) {
    await run([command, "--help"]);
  }
  await run(["inspect", model]);
  // the file readers and writers, and the model's, reader's and writer's workers
  const batch = ["batch", "--model", model, "--keep", "ride_id,PULocationID,DOLocationID,trip_distance"];
  await run([...batch, "--input", csv, "--output", `${dir}/out.parquet`]);
  await run([...batch, "--input", `${dir}/out.parquet`, "--output", `${dir}/out.csv`]);
  await run([...batch, "--input", csv, "--output", `${dir}/out.jsonl`]);
  // The Postgres writer loads only for a Postgres output: one that cannot connect loads it.
  const pg = ["--output", noDatabase, "--output-table", "warm", "--replace", "none"];
  await run([...batch, "--input", csv, ...pg], /Cannot reach Postgres/);
  await run(["profile", "--model", model, "--input", csv, "--output", `${dir}/profile.json`]);
  // Two workers, whatever the CPUs of the machine that builds the image: the worker threads' modules (the default runs
  // one a usable CPU) are cached too, and every module the one-thread service loads is among theirs.
  await run(
    ["serve", "--model", model, "--host", "127.0.0.1", "--port", "0", "--drain-delay", "0", "--workers", "2"],
    /"listening"/,
    async (line) => {
      const { port } = JSON.parse(line) as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/predict`, {
        method: "POST",
        body: JSON.stringify({ PULocationID: 130, DOLocationID: 205, trip_distance: 3.66 }),
      });
      await res.body?.cancel();
    },
  );
  await run(["consume", "--model", model, "--amqp-url", noBroker, "--exchange", "warm", "--dry-run"], /cannot reach/);
  const consume = ["consume", "--model", model, "--amqp-url", noBroker, "--exchange", "warm"];
  await run([...consume, "--prediction-exchange", "warm.predictions", "--workers", "2"], /cannot reach/);
  await run(["publish", "--input", csv, "--amqp-url", noBroker, "--exchange", "warm"], /cannot (reach|connect)/i);
} finally {
  await Deno.remove(dir, { recursive: true });
}
