/**
 * What a new user meets at the HTTP app's edges: `/v2/` with its trailing
 * slash, a Triton binary-tensor request, and access-log lines that say
 * what failed and on which route.
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

Deno.test("createApp at its edges", async (t) => {
  const model = await loadModel(join(MODELS, "ride-duration-linreg"));
  const plane = new DataPlane([model]);
  const lines = collector();
  const accessLog = new AccessLog(lines.out);
  const app = createApp(plane, { apiKey: "k-1", accessLog });
  const auth = { authorization: "Bearer k-1" };
  try {
    await t.step("the OIP routes take a trailing slash", async () => {
      for (const path of ["/v2/", "/v2/health/ready/", "/v2/models/ride-duration-linreg/"]) {
        const res = await app.request(path, { headers: auth });
        assert.equal(res.status, 200, path);
        await res.body?.cancel();
      }
      const meta = await (await app.request("/v2/", { headers: auth })).json();
      assert.equal(meta.name, "score");
    });
    await t.step("a Triton binary-tensor request is told the extension is not supported", async () => {
      const header = JSON.stringify({
        inputs: [{ name: "trip_distance", shape: [1], datatype: "FP64", parameters: { binary_data_size: 8 } }],
      });
      const body = new Uint8Array([
        ...new TextEncoder().encode(header),
        ...new Uint8Array(new Float64Array([40]).buffer),
      ]);
      for (
        const headers of <Record<string, string>[]> [
          { "inference-header-content-length": String(header.length), "content-type": "application/json" },
          { "content-type": "application/octet-stream" },
        ]
      ) {
        const res = await app.request("/v2/models/ride-duration-linreg/infer", {
          method: "POST",
          body,
          headers: { ...auth, ...headers },
        });
        assert.equal(res.status, 415);
        const answer = await res.json();
        assert.equal(answer.code, "binary_tensors_unsupported");
        assert.match(answer.error, /binary tensor extension .* is not supported/);
      }
    });
    await t.step("access-log lines: a 4xx carries its code, a 401 its real route", async () => {
      accessLog.flush();
      const before = lines.lines().length;
      const cases: [string, RequestInit, number, string, string | undefined][] = [
        ["/predict", { method: "POST", body: JSON.stringify(COURSE_RIDE), headers: auth }, 200, "/predict", undefined],
        ["/predict", { method: "POST", body: JSON.stringify(COURSE_RIDE) }, 401, "/predict", "unauthorized"],
        [
          "/models/nope/predict",
          { method: "POST", body: "{}", headers: auth },
          404,
          "/models/:name/predict",
          "not_found",
        ],
        ["/predict", { method: "POST", body: "{", headers: auth }, 400, "/predict", "malformed_json"],
      ];
      for (const [path, init, status] of cases) {
        const res = await app.request(path, init);
        assert.equal(res.status, status, path);
        await res.body?.cancel();
      }
      accessLog.flush();
      const logged = lines.lines().slice(before);
      assert.deepEqual(
        logged.map((l) => [l.status, l.route, l.code]),
        cases.map(([, , status, route, code]) => [status, route, code]),
      );
    });
  } finally {
    await plane.drain();
    await model.close();
  }
});
