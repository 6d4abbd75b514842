/**
 * `score serve` as users run it: the real launcher on a free port (`--port
 * 0`, the port read from the "listening" log line), real HTTP, signals,
 * the access log, and the prediction log in the real Postgres.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connect, type Socket } from "node:net";
import { logLines, MODELS, runScore, waitUntil } from "../helpers.ts";
import { PG_URL, withDb } from "../postgres/helpers.ts";
import { COURSE_RIDE, CUSTOMER } from "../http/requests.ts";
import { requestsInFlight, type Server, startServer } from "./serve_process.ts";
import { atTerminal } from "./terminal.ts";

const LINREG = join(MODELS, "ride-duration-linreg");
const CHURN = join(MODELS, "churn");
const RF = join(MODELS, "ride-duration-rf");

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}, client?: Deno.HttpClient) {
  const res = await fetch(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json", ...headers },
    client,
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/**
 * Opens idle connections past the descriptor limit (the kernel completes them, the process cannot accept them all)
 * into `sockets`, until the server logs that it cannot accept.
 */
async function exhaustDescriptors(server: Server, sockets: Socket[]): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const socket = connect(server.port, "127.0.0.1");
    socket.on("error", () => {});
    sockets.push(socket);
  }
  await waitUntil(() => server.lines.some((l) => l.includes("cannot accept")), "the accept failure log line", 30_000);
}

/** Waits until the server answers a ride on /predict with a 200 (once the descriptors are given back). */
async function predictsAgain(server: Server): Promise<void> {
  let status = 0;
  await waitUntil(
    async () => {
      try {
        const res = await fetch(`${server.url}/predict`, {
          method: "POST",
          body: JSON.stringify(COURSE_RIDE),
          signal: AbortSignal.timeout(1000),
        });
        status = res.status;
        await res.body?.cancel();
      } catch { /* not yet */ }
      return status === 200;
    },
    "a 200 after the descriptors are back",
    30_000,
  );
}

Deno.test("score serve answers over real HTTP", async (t) => {
  await using server = await startServer([
    "--model",
    LINREG,
    "--model",
    CHURN,
    "--model",
    RF,
    "--max-batch-size",
    "64",
    "--max-batch-delay-ms",
    "2",
  ]);

  await t.step("the course's request gives the course's duration", async () => {
    const res = await postJson(`${server.url}/predict`, COURSE_RIDE, { "x-request-id": "ride-1" });
    assert.equal(res.status, 200);
    assert.equal(res.body.duration, 26.43883355119793);
    assert.equal(typeof res.body.model_version, "string");
    assert.equal(res.headers.get("x-request-id"), "ride-1");
  });

  await t.step("the churn model answers the course's customer", async () => {
    const res = await postJson(`${server.url}/models/churn/predict`, CUSTOMER);
    assert.equal(res.body.churn_probability, 0.6363584152715288);
    assert.equal(res.body.churn, true);
  });

  await t.step("OIP infer on the random forest gives the streaming example's 21.29", async () => {
    const res = await postJson(
      `${server.url}/v2/models/ride-duration-rf/versions/e1efc53e9bd149078b0c12aeaa6365df/infer`,
      {
        id: "ride-256",
        inputs: [
          { name: "PULocationID", shape: [1], datatype: "INT64", data: [130] },
          { name: "DOLocationID", shape: [1], datatype: "INT64", data: [205] },
          { name: "trip_distance", shape: [1], datatype: "FP64", data: [3.66] },
        ],
      },
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.id, "ride-256");
    assert.equal(res.body.model_version, "e1efc53e9bd149078b0c12aeaa6365df");
    assert.equal(Math.round(res.body.outputs[0].data[0] * 100) / 100, 21.29);
  });

  await t.step("200 concurrent distinct requests each get their own answer", async () => {
    const rides = Array.from(
      { length: 200 },
      (_, i) => ({ PULocationID: 1 + i, DOLocationID: 200 - i, trip_distance: 1 + i / 8 }),
    );
    const alone = [];
    for (const r of rides) alone.push((await postJson(`${server.url}/predict`, r)).body.duration);
    assert.ok(new Set(alone).size === 200);
    const together = await Promise.all(rides.map((r) => postJson(`${server.url}/predict`, r)));
    assert.deepEqual(together.map((r) => r.status), rides.map(() => 200));
    assert.deepEqual(together.map((r) => r.body.duration), alone);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const runs = Number(
      /^score_batch_rows_count\{model="ride-duration-linreg",version="[0-9a-f]{12}"\} (\d+)$/m.exec(metrics)![1],
    );
    assert.ok(runs < 200 + 200, `200 lone runs, then merged ones: ${runs} runs in all`);
  });

  await t.step("bad input over HTTP: 400 malformed JSON, 422 missing field, 404 unknown model", async () => {
    const cases: [string, string, number, RegExp][] = [
      ["/predict", "{nope", 400, /not valid JSON/],
      ["/predict", JSON.stringify({ PULocationID: 1, DOLocationID: 2 }), 422, /"trip_distance"/],
      ["/models/nope/predict", JSON.stringify(COURSE_RIDE), 404, /Unknown model "nope"/],
    ];
    for (const [path, body, status, message] of cases) {
      const res = await fetch(`${server.url}${path}`, { method: "POST", body });
      assert.equal(res.status, status);
      assert.match((await res.json()).error, message);
    }
  });

  await t.step("every request gets one JSON access log line with its id, model, status and latency", async () => {
    // The line is written after the response is sent.
    const find = () => logLines(server.lines.join("\n")).find((l) => l.msg === "request" && l.request_id === "ride-1");
    await waitUntil(() => find() !== undefined, "the access log line of ride-1");
    const line = find();
    assert.ok(line, "access log line for ride-1");
    assert.equal(line.status, 200);
    assert.equal(line.model, "ride-duration-linreg");
    assert.equal(line.route, "/predict");
    assert.equal(typeof line.latency_ms, "number");
    assert.equal(typeof line.time, "string");
  });
});

Deno.test("score serve drains on SIGTERM and SIGINT: in-flight requests finish, new connections are refused, exit 0", async (t) => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    await t.step(signal, async () => {
      // A long batch delay keeps a request in flight while the signal arrives.
      await using server = await startServer([
        "--model",
        LINREG,
        "--max-batch-delay-ms",
        "1500",
        "--drain-delay",
        "0",
        "--no-access-log",
      ]);
      // The request in flight on a connection of its own, which nothing else the test sends shares.
      using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
      const inFlight = postJson(`${server.url}/predict`, COURSE_RIDE, {}, client);
      await requestsInFlight(server, 1);
      const code = server.stop(signal);
      const refused = async () => {
        try {
          (await Deno.connect({ hostname: "127.0.0.1", port: server.port })).close();
          return false;
        } catch (err) {
          return err instanceof Deno.errors.ConnectionRefused;
        }
      };
      await waitUntil(refused, "the listener to close");
      // Should the answer be lost, the server's own lines say what it did meanwhile.
      const res = await inFlight.catch((err) => {
        throw new Error(`the request in flight got no answer: ${err}\n${server.lines.join("\n")}`);
      });
      assert.equal(res.status, 200);
      assert.equal(res.body.duration, 26.43883355119793);
      assert.equal(await code, 0);
      const msgs = logLines(server.lines.join("\n")).map((l) => l.msg);
      assert.ok(msgs.includes("draining") && msgs.includes("stopped"), msgs.join(", "));
    });
  }
});

Deno.test("score serve on SIGTERM: during the drain delay readiness answers 400 while /predict still answers 200, then exit 0", async () => {
  await using server = await startServer(["--model", LINREG, "--no-access-log"], { SCORE_DRAIN_DELAY: "2" });
  const status = async (res: Promise<Response>) => {
    const r = await res;
    await r.body?.cancel();
    return r.status;
  };
  assert.equal(await status(fetch(`${server.url}/v2/health/ready`)), 200);
  const started = performance.now();
  const code = server.stop("SIGTERM");
  await waitUntil(async () => await status(fetch(`${server.url}/v2/health/ready`)) === 400, "readiness to turn 400");
  assert.equal(await status(fetch(`${server.url}/v2/models/ride-duration-linreg/ready`)), 400);
  assert.equal(await status(fetch(`${server.url}/v2/health/live`)), 200);
  const res = await postJson(`${server.url}/predict`, COURSE_RIDE);
  assert.equal(res.status, 200);
  assert.equal(res.body.duration, 26.43883355119793);
  assert.ok((performance.now() - started) / 1000 < 1.5, "all answered within the delay");
  assert.equal(await code, 0);
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds >= 1.9 && seconds < 10, `stopped after ${seconds} s`);
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.port }), Deno.errors.ConnectionRefused);
  const draining = logLines(server.lines.join("\n")).find((l) => l.msg === "draining");
  assert.equal(draining?.drain_delay_s, 2);
});

Deno.test("score serve stops after --shutdown-timeout even with a request still running, exit 0", async () => {
  await using server = await startServer([
    "--model",
    LINREG,
    "--max-batch-delay-ms",
    "20000",
    "--shutdown-timeout",
    "1",
    "--drain-delay",
    "0",
    "--no-access-log",
  ]);
  const stuck = fetch(`${server.url}/predict`, { method: "POST", body: JSON.stringify(COURSE_RIDE) }).then(
    async (r) => (await r.body?.cancel(), "answered"),
    () => "cut off",
  );
  await requestsInFlight(server, 1);
  const started = performance.now();
  assert.equal(await server.stop("SIGTERM"), 0);
  const seconds = (performance.now() - started) / 1000;
  assert.ok(seconds >= 0.9 && seconds < 5, `stopped after ${seconds} s`);
  assert.equal(await stuck, "cut off");
  assert.ok(server.lines.some((l) => l.includes("shutdown timeout reached")));
});

Deno.test("score serve --api-key from the environment", async () => {
  await using server = await startServer(["--model", LINREG, "--no-access-log"], { SCORE_API_KEY: "k-123" });
  const denied = await fetch(`${server.url}/predict`, { method: "POST", body: JSON.stringify(COURSE_RIDE) });
  assert.equal(denied.status, 401);
  assert.match((await denied.json()).error, /API key/);
  const ok = await postJson(`${server.url}/predict`, COURSE_RIDE, { authorization: "Bearer k-123" });
  assert.equal(ok.status, 200);
  const health = await fetch(`${server.url}/v2/health/ready`);
  assert.equal(health.status, 200);
  await health.body?.cancel();
  assert.ok(!server.lines.join("\n").includes("k-123"), "the key never reaches the log");
});

Deno.test("score serve takes several shipped models by name from SCORE_MODEL", async () => {
  await using server = await startServer(["--no-access-log"], { SCORE_MODEL: "churn,ride-duration-rf" });
  const churn = await postJson(`${server.url}/predict`, CUSTOMER);
  assert.equal(churn.body.churn_probability, 0.6363584152715288, "the first model answers /predict");
  const rf = await (await fetch(`${server.url}/v2/models/ride-duration-rf`)).json();
  assert.equal(rf.versions[0], "e1efc53e9bd149078b0c12aeaa6365df");
  const metadata = await (await fetch(`${server.url}/v2`)).json();
  const version = await runScore(["--version"]);
  assert.equal(metadata.version, version.stdout.trim(), "GET /v2 reports the version score --version prints");
});

Deno.test("score serve --listener deno answers the course's ride and drains on SIGTERM, exit 0", async () => {
  // A long batch delay keeps a request in flight while the signal arrives: Deno.serve's shutdown waits for it.
  await using server = await startServer(
    ["--model", LINREG, "--listener", "deno", "--max-batch-delay-ms", "1500", "--no-access-log"],
    { SCORE_DRAIN_DELAY: "0" },
  );
  const listening = logLines(server.lines.join("\n")).find((l) => l.msg === "listening");
  assert.equal(listening?.listener, "deno");
  const inFlight = postJson(`${server.url}/predict`, COURSE_RIDE);
  await requestsInFlight(server, 1);
  const code = server.stop("SIGTERM");
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.equal(res.body.duration, 26.43883355119793);
  assert.equal(await code, 0);
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.port }), Deno.errors.ConnectionRefused);
  const msgs = logLines(server.lines.join("\n")).map((l) => l.msg);
  assert.ok(msgs.includes("draining") && msgs.includes("stopped"), msgs.join(", "));
});

Deno.test("score serve --listener: a bad value, or a node-only flag with deno, is a usage error naming it", async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["an unknown listener", ["--listener", "fast"], {}, /--listener.*'fast'.*guarded, node, deno/s],
    [
      "an unknown listener from the environment",
      [],
      { SCORE_LISTENER: "fast" },
      /'fast' from env 'SCORE_LISTENER'.*node, deno/s,
    ],
    [
      "--headers-timeout with deno",
      ["--listener", "deno", "--headers-timeout", "5"],
      {},
      /--headers-timeout applies to --listener guarded or node only/,
    ],
    [
      "SCORE_MAX_CONNECTIONS with deno",
      [],
      { SCORE_LISTENER: "deno", SCORE_MAX_CONNECTIONS: "10" },
      /SCORE_MAX_CONNECTIONS \(--max-connections\) applies to --listener guarded or node only/,
    ],
  ];
  for (const [name, args, env, message] of cases) {
    await t.step(name, async () => {
      const { code, stderr } = await runScore(["serve", "--model", LINREG, "--port", "0", ...args], { env });
      assert.equal(code, 64, stderr);
      assert.match(stderr, message);
    });
  }
});

Deno.test("score serve refuses bad configuration with a usage error", async (t) => {
  const cases: [string, string[], RegExp][] = [
    [
      "a prediction log URL without a table",
      ["--log-predictions", PG_URL],
      /--log-predictions must be .*database\/table/,
    ],
    ["a table name with a quote", ["--log-predictions", `${PG_URL}/bad%22name`], /refused/],
    ["a negative batch size", ["--max-batch-size", "-1"], /whole number/],
    // `--api-key "$KEY"` with KEY unset: every route would have been open.
    ["an empty API key", ["--api-key", ""], /--api-key .* an empty key would require none/],
    ["a blank SCORE_API_KEY", [], /from env 'SCORE_API_KEY' is invalid\. an empty key would require none/],
  ];
  for (const [name, args, message] of cases) {
    await t.step(name, async () => {
      const env = name.includes("SCORE_API_KEY") ? { SCORE_API_KEY: "  " } : {};
      const { code, stderr } = await runScore(["serve", "--model", LINREG, "--port", "0", ...args], { env });
      assert.equal(code, 64, stderr);
      assert.match(stderr, message);
    });
  }
});

Deno.test("score serve --log-predictions writes features, outputs, version and request id to Postgres", async () => {
  await withDb(["serve_predictions"], async ({ sql }, [table]) => {
    {
      await using server = await startServer([
        "--model",
        LINREG,
        "--log-predictions",
        `${PG_URL}/${table}`,
        "--drain-delay",
        "0",
        "--no-access-log",
      ]);
      const one = await postJson(`${server.url}/predict`, COURSE_RIDE, { "x-request-id": "log-1" });
      const two = await postJson(`${server.url}/predict`, [COURSE_RIDE, {
        ...COURSE_RIDE,
        trip_distance: 2,
        note: "tab\there",
      }], {
        "x-request-id": "log-2",
      });
      assert.equal(one.status, 200);
      assert.equal(two.status, 200);
      const oip = await postJson(`${server.url}/v2/models/ride-duration-linreg/infer`, {
        inputs: [
          { name: "PULocationID", shape: [1], datatype: "INT64", data: [10] },
          { name: "DOLocationID", shape: [1], datatype: "INT64", data: [50] },
          { name: "trip_distance", shape: [1], datatype: "FP64", data: [40] },
        ],
      }, { "x-request-id": "log-3" });
      assert.equal(oip.status, 200);
      // The log is written in the background.
      let count = 0;
      await waitUntil(async () => {
        count = Number((await sql`select count(*)::int as n from ${sql(table)}`.catch(() => [{ n: 0 }]))[0].n);
        return count >= 4;
      }, "the prediction log's rows");
      assert.equal(count, 4);
      // The rows are visible as soon as their COPY commits, a moment before the log counts them.
      let metrics = "";
      await waitUntil(async () => {
        metrics = await (await fetch(`${server.url}/metrics`)).text();
        return /^score_prediction_log_written_total 4$/m.test(metrics);
      }, "the prediction log's count");
      assert.match(metrics, /^score_prediction_log_written_total 4$/m);
      assert.match(metrics, /^score_prediction_log_dropped_total 0$/m);
      assert.equal(await server.stop(), 0);
    }
    const rows = await sql`select request_id, model, model_version, features, outputs from ${
      sql(table)
    } order by request_id, (features->>'trip_distance')::float8 desc`;
    assert.deepEqual(rows.map((r) => [r.request_id, r.model, r.features, r.outputs]), [
      ["log-1", "ride-duration-linreg", COURSE_RIDE, { duration: 26.43883355119793 }],
      ["log-2", "ride-duration-linreg", COURSE_RIDE, { duration: 26.43883355119793 }],
      ["log-2", "ride-duration-linreg", { ...COURSE_RIDE, trip_distance: 2, note: "tab\there" }, rows[2].outputs],
      ["log-3", "ride-duration-linreg", COURSE_RIDE, { duration: 26.43883355119793 }],
    ]);
    assert.equal(typeof rows[2].outputs.duration, "number");
    assert.equal(rows[0].model_version, rows[3].model_version);
  });
});

Deno.test("score serve under ulimit -n 512 outlives 600 half-sent requests: the excess is refused, the slow are timed out, then it answers", async () => {
  // One worker: each worker's listener logs its own refusals once.
  await using server = await startServer(
    ["--model", LINREG, "--workers", "1", "--headers-timeout", "2", "--no-access-log"],
    {},
    {
      openFiles: 512,
    },
  );
  const sockets: Socket[] = [];
  let closedByServer = 0;
  try {
    for (let i = 0; i < 600; i++) {
      const socket = connect(server.port, "127.0.0.1", () => socket.write("POST /predict HTTP/1.1\r\nHost: x\r\n"));
      socket.on("error", () => {});
      socket.on("close", () => closedByServer++);
      sockets.push(socket);
    }
    // Every one of them is closed by the server: at once past the cap, after the headers timeout otherwise.
    await waitUntil(() => closedByServer >= 600, "the server to close every half-sent connection", 30_000);
    assert.equal(closedByServer, 600);
    const res = await postJson(`${server.url}/predict`, COURSE_RIDE);
    assert.equal(res.status, 200);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)`, "m").exec(metrics)?.[1]);
    assert.ok(value("score_http_connections_refused_total") > 0, metrics);
    assert.ok(value("score_http_timeouts_total") > 0, metrics);
    assert.ok(server.lines.some((l) => l.includes("connection limit reached")), "logged");
    assert.equal(server.lines.filter((l) => l.includes("connection limit reached")).length, 1, "logged once");
  } finally {
    for (const s of sockets) s.destroy();
  }
});

Deno.test("score serve under ulimit -n 256 with a cap above it: accepts fail with EMFILE, it logs, counts, and accepts again", async (t) => {
  for (const [name, listener] of [["the guarded listener", []], ["--listener node", ["--listener", "node"]]] as const) {
    await t.step(name, async () => {
      await using server = await startServer(
        // One worker: each worker's listener logs its own burst once.
        [
          ...["--model", LINREG, "--workers", "1", "--max-connections", "10000", "--headers-timeout", "120"],
          ...["--no-access-log", ...listener],
        ],
        {},
        { openFiles: 256 },
      );
      const sockets: Socket[] = [];
      const value = async (name: string) => {
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        return Number(new RegExp(`^${name} (\\d+)`, "m").exec(metrics)?.[1]);
      };
      try {
        await exhaustDescriptors(server, sockets);
        for (const s of sockets) s.destroy();
        // Once the descriptors are given back, a new request is answered.
        await predictsAgain(server);
        assert.ok(await value("score_http_accept_errors_total") > 0);
        assert.equal(server.lines.filter((l) => l.includes("cannot accept")).length, 1, "logged once");
      } finally {
        for (const s of sockets) s.destroy();
      }
    });
  }
});

Deno.test("score serve --listener deno under ulimit -n 256: at EMFILE it logs once, answers the request in flight, and serves again", async () => {
  // One worker: each worker's listener logs its own burst once.
  await using server = await startServer(
    ["--model", LINREG, "--workers", "1", "--listener", "deno", "--no-access-log"],
    {},
    {
      openFiles: 256,
    },
  );
  const sockets: Socket[] = [];
  try {
    // A request in flight on a connection opened before: the second half of its body comes after the descriptors ran out.
    const body = JSON.stringify(COURSE_RIDE);
    const half = Math.floor(body.length / 2);
    const inFlight = connect(server.port, "127.0.0.1");
    sockets.push(inFlight);
    let answer = "";
    inFlight.on("data", (chunk) => answer += chunk);
    inFlight.on("error", () => {});
    inFlight.write(
      `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n` +
        body.slice(0, half),
    );
    await requestsInFlight(server, 1);
    await exhaustDescriptors(server, sockets);
    inFlight.write(body.slice(half));
    await waitUntil(() => answer.includes("}"), "the answer to the request in flight", 30_000);
    assert.match(answer, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(answer, /"duration":26\.43883355119793/);
    for (const s of sockets) s.destroy();
    // Once the descriptors are given back, a new request is answered by the listener opened anew.
    await predictsAgain(server);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.ok(Number(/^score_http_accept_errors_total (\d+)/m.exec(metrics)?.[1]) > 0, metrics);
    const emfile = server.lines.filter((l) => l.includes("cannot accept"));
    assert.equal(emfile.length, 1, "logged once");
    assert.match(emfile[0], /"level":"warn".*"reason":"out of file descriptors \(EMFILE\)"/);
    assert.ok(server.lines.every((l) => l.startsWith("{")), server.lines.join("\n"));
    assert.equal(await server.stop(), 0, server.lines.join("\n"));
  } finally {
    for (const s of sockets) s.destroy();
  }
});

Deno.test("score serve at a terminal: Ctrl-C says a second one exits at once, and stops without the drain delay", async () => {
  await using t = atTerminal(["serve", "--model", "ride-duration-linreg", "--port", "0", "--drain-delay", "30"]);
  await t.waitFor("listening");
  const pressed = performance.now();
  await t.type("\x03");
  assert.equal(await t.status, 0, t.output());
  const seconds = (performance.now() - pressed) / 1000;
  assert.ok(seconds < 15, `stopped ${seconds.toFixed(1)} s after Ctrl-C, within the 30 s drain delay`);
  assert.match(t.output(), /WARN +SIGINT: readiness off; draining \(Ctrl-C again exits at once\)/);
  assert.match(t.output(), /INFO +draining signal=SIGINT drain_delay_s=0 /);
});

Deno.test("score serve --port in use: a usage error naming the port and the flag, with either listener", async (t) => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  for (const listener of ["node", "deno"]) {
    await t.step(listener, async () => {
      const { code, stderr } = await runScore(
        ["serve", "--model", "churn", "--port", String(taken.addr.port), "--listener", listener],
      );
      assert.equal(code, 64, stderr);
      assert.match(stderr, new RegExp(`"Port ${taken.addr.port} on 127\\.0\\.0\\.1 is already in use \\(--port\\)"`));
    });
  }
  await t.step(
    "--workers 2, where another listener shares the port (SO_REUSEPORT, as a second score serve's)",
    async () => {
      using shared = Deno.listen({ hostname: "127.0.0.1", port: 0, reusePort: true });
      const { code, stderr } = await runScore(
        ["serve", "--model", "churn", "--port", String(shared.addr.port), "--workers", "2"],
      );
      assert.equal(code, 64, stderr);
      assert.match(stderr, new RegExp(`"Port ${shared.addr.port} on 127\\.0\\.0\\.1 is already in use \\(--port\\)"`));
    },
  );
});
