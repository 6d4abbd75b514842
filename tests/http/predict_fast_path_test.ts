/**
 * The scoring requests are answered in front of Hono (src/http/predict_fast_path.ts); the same paths spelled so
 * that the fast path leaves them to the app (a trailing slash) reach the Hono routes. Both must answer alike: status,
 * body, headers, the access log line and the metrics, for answers and for each kind of failure.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AccessLog } from "../../src/serving/access_log.ts";
import { createApp } from "../../src/http/create_app.ts";
import { loadModel } from "../../src/model/mod.ts";
import { DataPlane } from "../../src/serving/data_plane.ts";
import { MODELS } from "../helpers.ts";
import { COURSE_RIDE } from "./requests.ts";
import { collector } from "./line_collector.ts";

const CASES: { name: string; path: string; body: string; auth?: boolean; status: number }[] = [
  { name: "a ride", path: "/predict", body: JSON.stringify(COURSE_RIDE), status: 200 },
  { name: "rides by model name", path: "/models/ride-duration-linreg/predict", body: "[]", status: 400 },
  { name: "an array of rides", path: "/predict", body: JSON.stringify([COURSE_RIDE, COURSE_RIDE]), status: 200 },
  { name: "a ride lacking a field", path: "/predict", body: '{"PULocationID": 10}', status: 422 },
  {
    name: "a value the model rejects",
    path: "/predict",
    body: '{"PULocationID": 10, "trip_distance": "far"}',
    status: 422,
  },
  { name: "malformed JSON", path: "/predict", body: "{", status: 400 },
  { name: "a body over the limit", path: "/predict", body: JSON.stringify(Array(40).fill(COURSE_RIDE)), status: 413 },
  { name: "an unknown model", path: "/models/nope/predict", body: JSON.stringify(COURSE_RIDE), status: 404 },
  { name: "no API key", path: "/predict", body: JSON.stringify(COURSE_RIDE), auth: false, status: 401 },
];

Deno.test("the /predict fast path answers as the app's routes do", async (t) => {
  const model = await loadModel(join(MODELS, "ride-duration-linreg"));
  const plane = new DataPlane([model]);
  const lines = collector();
  const accessLog = new AccessLog(lines.out);
  const app = createApp(plane, { apiKey: "k-1", accessLog, maxBodyBytes: 2000 });
  try {
    for (const c of CASES) {
      await t.step(c.name, async () => {
        const answers = [];
        for (const path of [c.path, `${c.path}/`]) {
          const headers: Record<string, string> = { "x-request-id": `rid-${path}`, "content-type": "application/json" };
          if (c.auth !== false) headers.authorization = "Bearer k-1";
          const res = await app.request(path, { method: "POST", body: c.body, headers });
          accessLog.flush();
          const line = lines.lines().at(-1);
          answers.push({
            status: res.status,
            body: await res.text(),
            headers: [...res.headers].filter(([k]) => k !== "x-request-id"),
            requestId: res.headers.get("x-request-id") === `rid-${path}`,
            log: { ...line, time: undefined, latency_ms: undefined, request_id: undefined, path: undefined },
          });
        }
        assert.equal(answers[0].status, c.status);
        assert.deepEqual(answers[0], answers[1]);
      });
    }
    await t.step("the metrics count both alike, under the route pattern", async () => {
      const metrics = await (await app.request("/metrics", { headers: { authorization: "Bearer k-1" } })).text();
      const count = (labels: string) =>
        Number(new RegExp(`^score_http_requests_total\\{${labels}\\} (\\d+)$`, "m").exec(metrics)?.[1] ?? 0);
      // Each case twice: once on the fast path, once through Hono.
      assert.equal(
        count('model="ride-duration-linreg",version="9bceaa0ed43a",route="/predict",status="200",protocol="rest"'),
        4,
      );
      assert.equal(count('model="",route="/models/:name/predict",status="404",protocol="rest"'), 2);
      assert.equal(count('model="",route="/predict",status="401",protocol="rest"'), 2);
      assert.match(metrics, /^score_rejected_requests_total\{reason="unauthorized"\} 2$/m);
      assert.match(metrics, /^score_rejected_requests_total\{reason="body_too_large"\} 2$/m);
    });
  } finally {
    await plane.close();
  }
});
