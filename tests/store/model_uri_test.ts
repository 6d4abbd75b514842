/**
 * What `--model` values mean, and that secrets in them never reach a
 * message or a log.
 */
import assert from "node:assert/strict";
import { redact } from "../../src/log.ts";
import { parseModelUri } from "../../src/store/mod.ts";
import { rejection } from "../helpers.ts";

Deno.test("parseModelUri", async (t) => {
  const pin = "ab".repeat(32);
  const cases: [string, Record<string, unknown>][] = [
    ["models/ride-duration-rf", { kind: "local", path: "models/ride-duration-rf" }],
    ["/abs/model.onnx", { kind: "local", path: "/abs/model.onnx" }],
    ["file:///mlruns/1/abc/artifacts/model#name=rf", {
      kind: "local",
      path: "/mlruns/1/abc/artifacts/model",
      name: "rf",
    }],
    ["s3://mlflow/1/abc/artifacts/model", { kind: "s3", bucket: "mlflow", key: "1/abc/artifacts/model" }],
    [`s3://models/rf/model.onnx#sha256=${pin}&name=rf`, {
      kind: "s3",
      bucket: "models",
      key: "rf/model.onnx",
      sha256: pin,
      name: "rf",
    }],
    [`https://h.example/m/model.onnx#sha256=${pin.toUpperCase()}`, { kind: "http", sha256: pin }],
  ];
  for (const [value, expected] of cases) {
    await t.step(value, () => {
      const uri = parseModelUri(value) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(uri[k], v, k);
    });
  }
  const refused: [string, RegExp][] = [
    ["runs:/abc/model", /need an MLflow tracking server; give the run's artifact URI/],
    ["gs://bucket/model", /unsupported scheme "gs:"/],
    ["file://models/rf", /write file:\/\/\/absolute\/path/],
    ["s3://bucket", /an S3 URI is s3:\/\/<bucket>\/<prefix or key>/],
    ["https://h/m.onnx#sha256=1234", /unknown fragment "sha256=1234"/],
  ];
  for (const [value, message] of refused) {
    await t.step(`refused: ${value}`, async () => {
      const err = await rejection(() => Promise.resolve().then(() => parseModelUri(value)));
      assert.equal(err.exitCode, 64);
      assert.match(err.message, message);
    });
  }
  await t.step("the text for logs hides a password and a presigned URL's signature", () => {
    const uri = parseModelUri("https://u:hunter2@h/m.onnx?X-Amz-Credential=AKIA%2F&X-Amz-Signature=deadbeef&v=1");
    assert.equal(uri.text, "https://u:***@h/m.onnx?X-Amz-Credential=***&X-Amz-Signature=***&v=1");
  });
});

Deno.test("redact hides URL passwords and credential query parameters", () => {
  const cases: [string, string][] = [
    ["amqp://guest:guest@127.0.0.1", "amqp://guest:***@127.0.0.1"],
    ["GET https://h/x?token=abc&page=2", "GET https://h/x?token=***&page=2"],
    ["https://h/x?X-Amz-Security-Token=s3cr3t", "https://h/x?X-Amz-Security-Token=***"],
    ["no url here", "no url here"],
  ];
  for (const [text, expected] of cases) assert.equal(redact(text), expected);
});
