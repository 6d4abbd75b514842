/**
 * S3 settings from the standard AWS and MLflow variables, and the URLs
 * they give (requests themselves are tested against s3rver).
 */
import assert from "node:assert/strict";
import { s3Config } from "../../src/store/mod.ts";
import { objectUrl } from "../../src/store/s3_store.ts";

Deno.test("s3Config: one precedence per setting", async (t) => {
  const cases: [string, Record<string, string>, Record<string, unknown>][] = [
    ["nothing set: AWS us-east-1, anonymous", {}, { endpoint: undefined, region: "us-east-1", credentials: undefined }],
    ["AWS_REGION beats AWS_DEFAULT_REGION", { AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "us-west-2" }, {
      region: "eu-west-1",
    }],
    ["AWS_DEFAULT_REGION alone", { AWS_DEFAULT_REGION: "us-west-2" }, { region: "us-west-2" }],
    ["AWS_ENDPOINT_URL_S3 beats MLFLOW_S3_ENDPOINT_URL and AWS_ENDPOINT_URL", {
      AWS_ENDPOINT_URL_S3: "http://a:1/",
      MLFLOW_S3_ENDPOINT_URL: "http://b:2",
      AWS_ENDPOINT_URL: "http://c:3",
    }, { endpoint: "http://a:1" }],
    ["MLFLOW_S3_ENDPOINT_URL beats AWS_ENDPOINT_URL", {
      MLFLOW_S3_ENDPOINT_URL: "http://b:2",
      AWS_ENDPOINT_URL: "http://c:3",
    }, { endpoint: "http://b:2" }],
    ["an empty variable counts as unset", { AWS_ENDPOINT_URL_S3: "", AWS_ENDPOINT_URL: "http://c:3" }, {
      endpoint: "http://c:3",
    }],
    ["keys and session token", { AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s", AWS_SESSION_TOKEN: "t" }, {
      credentials: { accessKeyId: "k", secretAccessKey: "s", sessionToken: "t" },
    }],
    ["a key id without its secret is anonymous", { AWS_ACCESS_KEY_ID: "k" }, { credentials: undefined }],
  ];
  for (const [name, env, expected] of cases) {
    await t.step(name, () => {
      const config = s3Config(env) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(config[k], v, k);
    });
  }
});

Deno.test("objectUrl: path-style on a custom endpoint, virtual-hosted on AWS, keys encoded", () => {
  assert.equal(
    objectUrl({ endpoint: "http://127.0.0.1:9000", region: "us-east-1" }, "mlflow", "1/abc/artifacts/model/MLmodel"),
    "http://127.0.0.1:9000/mlflow/1/abc/artifacts/model/MLmodel",
  );
  assert.equal(
    objectUrl({ region: "eu-west-1" }, "models", "rf v2/model.onnx"),
    "https://models.s3.eu-west-1.amazonaws.com/rf%20v2/model.onnx",
  );
});
