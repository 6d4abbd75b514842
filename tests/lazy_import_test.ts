/**
 * What each command loads, read off Deno's own loader trace (`DENO_LOG=debug`
 * names every module it prepares or evaluates), and that every module
 * loaded by a computed specifier (src/lazy_import.ts, workers) is one the
 * compiled executable and the container are built with.
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { PG_URL } from "./postgres/helpers.ts";
import { AMQP_URL, TestBroker } from "./queue/broker.ts";
import { MODELS, ROOT, tempDir } from "./helpers.ts";

/**
 * The npm packages (name@version folders under node_modules/.deno) a run of `./score args` prepared or evaluated,
 * and our own modules (paths under src/).
 */
async function loadedPackages(args: string[], env: Record<string, string> = {}): Promise<Set<string>> {
  const out = await new Deno.Command(join(ROOT, "score"), {
    args,
    env: { ...env, DENO_LOG: "debug", NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  const trace = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `score ${args.join(" ")} failed: ${trace.slice(-2000)}`);
  return packagesIn(trace);
}

/** The npm packages and our modules a loader trace names. */
function packagesIn(trace: string): Set<string> {
  const packages = new Set<string>();
  for (const m of trace.matchAll(/node_modules\/\.deno\/([^/\s]+)\//g)) {
    // "@duckdb+node-api@1.5.6-r.1" -> "@duckdb/node-api"
    packages.add(m[1].replace(/@[^@]+$/, "").replace("+", "/"));
  }
  for (const m of trace.matchAll(/file:\/\/\S*?\/(src\/[\w/]+\.ts)/g)) packages.add(m[1]);
  return packages;
}

/** Our modules no `--help` loads: the flag tables need neither the Postgres client's wrapper nor a sink, a model or a store. */
const NOT_FOR_HELP = [
  "src/postgres/connect.ts",
  "src/postgres/pg_transaction.ts",
  "src/sinks/mod.ts",
  "src/model/mod.ts",
  "src/store/mod.ts",
];

Deno.test("each command loads only what it uses", async (t) => {
  for (
    const args of [
      ["--help"],
      ...["batch", "consume", "inspect", "merge-drift", "profile", "publish", "serve"].map((c) => [c, "--help"]),
    ]
  ) {
    await t.step(`score ${args.join(" ")} loads no npm package`, async () => {
      const loaded = await loadedPackages(args);
      // Any npm package starts Deno's Node compatibility, which costs --help more than all it does besides.
      assert.deepEqual([...loaded].filter((p) => !p.startsWith("src/")), []);
      assert.deepEqual(NOT_FOR_HELP.filter((p) => loaded.has(p)), []);
      assert.ok(loaded.has("src/cli/program.ts"), "the trace names the modules loaded");
    });
  }

  await using dir = await tempDir();
  const csv = join(dir.path, "one.csv");
  await Deno.writeTextFile(csv, "ride_id,PULocationID,DOLocationID,trip_distance\n1,130,205,3.66\n");
  const model = join(MODELS, "ride-duration-linreg");

  await t.step(
    "a CSV job loads onnxruntime, and no Postgres, DuckDB, monitor, AMQP, S3, YAML or web code",
    async () => {
      const loaded = await loadedPackages([
        "batch",
        "--model",
        model,
        "--input",
        csv,
        "--output",
        join(dir.path, "o.csv"),
      ]);
      assert.ok(loaded.has("onnxruntime-node"));
      const never = [
        "postgres",
        "amqplib",
        "aws4fetch",
        "fast-xml-parser",
        "yaml",
        "hono",
        "prom-client",
        "cli-progress",
        // A row or two are written in place: the CSV writer's worker starts only past IN_PLACE_ROWS.
        "src/sinks/csv_writer_worker.ts",
        // The graph is read by our own reader; the protobuf library loads only to rewrite a ZipMap model.
        "onnx-proto",
        "protobufjs",
        // The other writers, the Postgres transaction and --monitor's code load only for a job that uses them.
        "postgres-array",
        "src/postgres/pg_transaction.ts",
        "src/sinks/postgres_sink.ts",
        "src/sinks/parquet_sink.ts",
        "src/duckdb/mod.ts",
        "src/commands/batch_monitor.ts",
        "src/monitor/mod.ts",
      ];
      assert.deepEqual(never.filter((p) => loaded.has(p)), []);
    },
  );

  await t.step("a 1-row CSV job starts no worker to read it or to run the model, even the random forest", async () => {
    const rf = join(MODELS, "ride-duration-rf");
    const loaded = await loadedPackages([
      "batch",
      "--model",
      rf,
      "--input",
      csv,
      "--output",
      join(dir.path, "o.jsonl"),
    ]);
    assert.ok(
      loaded.has("src/sources/csv_source.ts") && loaded.has("src/model/model.ts"),
      "the trace names our modules",
    );
    const never = ["src/sources/reader_worker.ts", "src/model/session_worker.ts", "@duckdb/node-api"];
    assert.deepEqual(never.filter((p) => loaded.has(p)), []);
  });

  await t.step("a consumer without --metrics-port loads amqplib and no web server, DuckDB or Postgres", async () => {
    await using broker = await TestBroker.open();
    const exchange = await broker.exchange("lazy_events");
    const child = new Deno.Command(join(ROOT, "score"), {
      args: ["consume", "--model", model, "--amqp-url", AMQP_URL, "--exchange", exchange, "--dry-run"],
      env: { DENO_LOG: "debug", NO_COLOR: "1", LOG_FORMAT: "json" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    // Read the trace until the consumer says it consumes (bounded), then stop it as an operator would.
    let trace = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    try {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        // Our log lines are whole JSON lines amid the loader's; only the consumer's own says it consumes.
        const consuming = (trace.slice(trace.lastIndexOf("\n") + 1) + chunk).split("\n")
          .some((line) => line.startsWith('{"time"') && line.includes('"msg":"consuming"'));
        trace += chunk;
        if (consuming) child.kill("SIGTERM");
      }
    } finally {
      clearTimeout(timer);
    }
    assert.ok((await child.status).success, trace.slice(-2000));
    const loaded = packagesIn(trace);
    assert.ok(loaded.has("amqplib") && loaded.has("onnxruntime-node"), "the trace names the packages");
    const never = ["hono", "@hono/node-server", "src/queue/metrics_server.ts", "@duckdb/node-api", "postgres"];
    assert.deepEqual(never.filter((p) => loaded.has(p)), []);
  });

  await t.step("a Postgres job to stdout loads postgres.js and never DuckDB", async () => {
    const query = `select 1 as ride_id, 130 as "PULocationID", 205 as "DOLocationID", 3.66::float8 as trip_distance`;
    const loaded = await loadedPackages([
      "batch",
      "--model",
      model,
      "--input",
      PG_URL,
      "--query",
      query,
      "--output",
      "-",
    ]);
    assert.ok(loaded.has("postgres"));
    assert.deepEqual(["@duckdb/node-api", "@duckdb/node-bindings", "amqplib"].filter((p) => loaded.has(p)), []);
  });
});

/** The files main.ts and src/ load by a computed specifier: `new URL("./x.ts", import.meta.url)`, for lazyImport or a Worker. */
async function computedModules(): Promise<{ file: string; from: string }[]> {
  const files = [join(ROOT, "main.ts")];
  for await (const f of walk(join(ROOT, "src"))) files.push(f);
  const found: { file: string; from: string }[] = [];
  for (const from of files) {
    const text = await Deno.readTextFile(from);
    if (from.endsWith("lazy_import.ts")) continue;
    // Every call of the loader must have the shape this test reads (src/lazy_import.ts says so).
    const calls = [...text.matchAll(/lazyImport</g)].length;
    const shaped = [...text.matchAll(/lazyImport<[^>]+>\(\s*new URL\("[^"]+", import\.meta\.url\)/g)].length;
    assert.equal(shaped, calls, `${relative(ROOT, from)}: lazyImport called without new URL("...", import.meta.url)`);
    for (const m of text.matchAll(/new URL\("([^"]+\.ts)", import\.meta\.url\)/g)) {
      found.push({ file: relative(ROOT, join(dirname(from), m[1])), from: relative(ROOT, from) });
    }
  }
  return found;
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* walk(path);
    else if (e.name.endsWith(".ts")) yield path;
  }
}

Deno.test("every module loaded by a computed specifier is built in", async (t) => {
  const modules = await computedModules();
  const makefile = (await Deno.readTextFile(join(ROOT, "Makefile"))).replace(/\\\n/g, " ");
  const build = /^build:.*\n((?:\t.*\n)+)/m.exec(makefile)?.[1] ?? "";
  const compile = build.split("\n").find((l) => l.includes("$(DENO) compile")) ?? "";
  const lazy = /^LAZY_MODULES :=(.*)$/m.exec(makefile)?.[1].trim().split(/\s+/) ?? [];
  const included = new Set([
    ...[...compile.matchAll(/--include (\S+)/g)].map((m) => m[1]),
    ...(compile.includes("$(addprefix --include ,$(LAZY_MODULES))") ? lazy : []),
  ]);
  const dockerfile = (await Deno.readTextFile(join(ROOT, "Dockerfile"))).replace(/\\\n/g, " ");
  const install = /deno install --entrypoint ([^&\n]+)/.exec(dockerfile)?.[1].trim().split(/\s+/) ?? [];

  await t.step("the loader is found in use (the pattern matches)", () => {
    assert.ok(modules.some((m) => m.file === "src/commands/batch.ts"), "main.ts's commands");
    assert.ok(modules.some((m) => m.file === "src/model/onnxruntime_node.ts"), "onnxruntime");
    assert.ok(compile.includes("main.ts"), "the Makefile's deno compile line");
    assert.ok(install.includes("main.ts"), "the Dockerfile's deno install line");
  });
  for (const { file, from } of modules) {
    await t.step(`${file} (from ${from})`, async () => {
      assert.ok((await Deno.stat(join(ROOT, file))).isFile, `${file} exists`);
      assert.ok(included.has(file), `make build: --include ${file}`);
      assert.ok(install.includes(file), `Dockerfile: deno install --entrypoint ... ${file}`);
    });
  }
});
