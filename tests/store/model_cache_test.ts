/**
 * The model cache is never trusted blindly: against a real S3-protocol
 * server (s3rver), a copy damaged on disk is found on the next look,
 * removed and fetched again; with the store down the newest good copy that
 * still matches its record serves; an object that did not load never
 * becomes the copy that serves when the store is down.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { log } from "../../src/log.ts";
import { openModel, resolveModel } from "../../src/store/mod.ts";
import { ModelCache } from "../../src/store/model_cache.ts";
import { MODELS, rejection, tempDir } from "../helpers.ts";
import { startS3 } from "./servers.ts";

const RF_ONNX = await Deno.readFile(join(MODELS, "ride-duration-rf", "model.onnx"));
const RF_VERSION = createHash("sha256").update(RF_ONNX).digest("hex").slice(0, 12);
const RIDE_256 = { PULocationID: [130], DOLocationID: [205], trip_distance: [3.66] };

/** Opens, predicts ride 256 and closes; returns what a user sees, and the warnings logged meanwhile. */
async function score(uri: string, cacheDir: string, env: Record<string, string>) {
  const lines: string[] = [];
  log.divert((line) => lines.push(line));
  try {
    const { model, resolved } = await openModel(uri, { cacheDir, env });
    try {
      const p = await model.predict(RIDE_256, 1);
      const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === "warn");
      return {
        version: model.version,
        duration: p.columns[model.outputs[0].columns[0]][0] as number,
        resolved,
        warnings: warnings.map((w) => `${w.msg}: ${w.reason ?? ""}`),
      };
    } finally {
      await model.close();
    }
  } finally {
    log.divert(undefined);
  }
}

/** Rewrites a cached file in place: `edit` gets its bytes and returns the new ones. */
async function damage(path: string, edit: (bytes: Uint8Array) => Uint8Array): Promise<void> {
  await Deno.writeFile(path, edit(await Deno.readFile(path)));
}

const flipOneByte = (bytes: Uint8Array) => {
  const copy = bytes.slice();
  copy[Math.floor(copy.length / 2)] ^= 0x01;
  return copy;
};

const truncate = (bytes: Uint8Array) => bytes.slice(0, Math.floor(bytes.length / 2));

Deno.test("a damaged copy in the cache is found, removed and fetched again", async (t) => {
  await using s3 = await startS3("models");
  await using cache = await tempDir();
  await s3.put("rf/model.onnx", RF_ONNX);
  const uri = "s3://models/rf/model.onnx";
  const good = await score(uri, cache.path, s3.env);
  assert.equal(good.version, RF_VERSION);
  const cases = [
    { name: "one byte flipped", edit: flipOneByte },
    { name: "the file truncated", edit: truncate },
    { name: "the file emptied", edit: () => new Uint8Array() },
  ];
  for (const c of cases) {
    await t.step(`${c.name}: the same predictions and version as the good model, the file whole again`, async () => {
      await damage(good.resolved.onnxPath, c.edit);
      const again = await score(uri, cache.path, s3.env);
      assert.equal(again.version, good.version);
      assert.equal(again.duration, good.duration);
      assert.equal(again.resolved.stale, undefined);
      assert.deepEqual(await Deno.readFile(again.resolved.onnxPath), RF_ONNX);
      assert.ok(again.warnings.some((w) => w.startsWith("cached model copy damaged: removed")), again.warnings.join());
    });
  }
  await t.step("a copy whose record is gone is not trusted either", async () => {
    const slot = join(good.resolved.onnxPath, "..", "..");
    for await (const e of Deno.readDir(slot)) {
      if (e.name.endsWith(".json") && e.name !== "good.json") await Deno.remove(join(slot, e.name));
    }
    await damage(good.resolved.onnxPath, flipOneByte);
    const again = await score(uri, cache.path, s3.env);
    assert.equal(again.version, good.version);
    assert.deepEqual(await Deno.readFile(again.resolved.onnxPath), RF_ONNX);
  });
  await t.step("an intact copy is used as it is: nothing removed, nothing logged", async () => {
    const before = await Deno.stat(good.resolved.onnxPath);
    const again = await score(uri, cache.path, s3.env);
    assert.deepEqual((await Deno.stat(again.resolved.onnxPath)).mtime, before.mtime, "not downloaded again");
    assert.deepEqual(again.warnings, []);
  });
  await t.step("a reload checks the copy serving by its length only, and still sees a truncation", async () => {
    const serving = await resolveModel(uri, { cacheDir: cache.path, env: s3.env });
    await damage(serving.onnxPath, flipOneByte);
    const same = await resolveModel(uri, { cacheDir: cache.path, env: s3.env, serving: serving.tag });
    assert.equal(same.tag, serving.tag, "the copy serving is not hashed again on every reload");
    await damage(serving.onnxPath, truncate);
    await resolveModel(uri, { cacheDir: cache.path, env: s3.env, serving: serving.tag });
    assert.equal((await Deno.stat(serving.onnxPath)).size, RF_ONNX.length, "fetched again");
    // Hashed in full when it is to be loaded: the flipped byte is found then.
    await damage(serving.onnxPath, flipOneByte);
    await resolveModel(uri, { cacheDir: cache.path, env: s3.env });
    assert.deepEqual(await Deno.readFile(serving.onnxPath), RF_ONNX);
  });
});

/** The MLmodel of run `runId`, its model in `model.onnx`. */
function mlmodel(runId: string): string {
  return `flavors:\n  onnx:\n    data: model.onnx\nrun_id: ${runId}\n`;
}

Deno.test("the store down: the newest good copy that still matches its record serves", async (t) => {
  await using cache = await tempDir();
  await using data = await tempDir();
  const s3 = await startS3("mlflow", { dir: data.path });
  const uri = "s3://mlflow/production/ride-duration";
  await s3.put("production/ride-duration/model.onnx", RF_ONNX);
  await s3.put("production/ride-duration/MLmodel", mlmodel("run-one"));
  const one = await score(uri, cache.path, s3.env);
  await s3.put("production/ride-duration/MLmodel", mlmodel("run-two"));
  const two = await score(uri, cache.path, s3.env);
  assert.deepEqual([one.version, two.version], ["run-one", "run-two"]);
  await s3.close();

  await t.step("both intact: the newest serves, marked stale, with a warning", async () => {
    const down = await score(uri, cache.path, s3.env);
    assert.equal(down.version, "run-two");
    assert.ok(down.resolved.stale);
    assert.ok(down.warnings.some((w) => w.startsWith("model store unreachable: using the last good copy")));
  });
  await t.step("the newest damaged: removed, and the one before serves with the same predictions", async () => {
    await damage(two.resolved.onnxPath, flipOneByte);
    const down = await score(uri, cache.path, s3.env);
    assert.equal(down.version, "run-one");
    assert.equal(down.duration, one.duration);
    assert.ok(down.resolved.stale);
    await assert.rejects(Deno.stat(two.resolved.onnxPath), Deno.errors.NotFound);
  });
  await t.step("every good copy damaged: unavailable (69), a clear error, nothing loaded", async () => {
    await damage(one.resolved.onnxPath, truncate);
    const err = await rejection(() => openModel(uri, { cacheDir: cache.path, env: s3.env }));
    assert.equal(err.exitCode, 69);
    assert.match(err.message, /Cannot reach the model store for s3:\/\/mlflow\/production\/ride-duration: .*no copy/);
  });
  await t.step("the store back: fetched again, and good again", async () => {
    await using back = await startS3("mlflow", { dir: data.path, port: Number(new URL(s3.endpoint).port) });
    const up = await score(uri, cache.path, back.env);
    assert.equal(up.version, "run-two");
    assert.equal(up.resolved.stale, undefined);
  });
});

Deno.test("an object that does not load never becomes the copy that serves when the store is down", async (t) => {
  await using cache = await tempDir();
  const s3 = await startS3("models");
  const uri = "s3://models/rf/model.onnx";
  await s3.put("rf/model.onnx", RF_ONNX);
  const good = await score(uri, cache.path, s3.env);
  const bad = [
    { name: "a truncated upload", body: truncate(RF_ONNX) },
    { name: "not a model at all", body: new TextEncoder().encode("<html>502 Bad Gateway</html>") },
  ];
  for (const b of bad) {
    await t.step(`${b.name}: refused (78) while the store holds it`, async () => {
      await s3.put("rf/model.onnx", b.body);
      const err = await rejection(() => openModel(uri, { cacheDir: cache.path, env: s3.env }));
      assert.equal(err.exitCode, 78, err.message);
    });
  }
  await t.step("the store down: the good model serves, not the last object fetched", async () => {
    await s3.close();
    const down = await score(uri, cache.path, s3.env);
    assert.equal(down.version, good.version);
    assert.equal(down.duration, good.duration);
    assert.ok(down.resolved.stale);
  });
});

Deno.test("a copy moves into place with its record already written: another process finding it then takes it", async () => {
  await using dir = await tempDir();
  const cache = new ModelCache(dir.path);
  const uri = "s3://models/rides/model.onnx";
  const bytes = new TextEncoder().encode("onnx bytes");
  const file = { name: "model.onnx", bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
  // The moment the copy lands (the rename), another process looks: it must find it whole, with its record.
  const rename = Deno.rename;
  const looked: { done: boolean; copy?: Awaited<ReturnType<ModelCache["find"]>> } = { done: false };
  Deno.rename = async (from, to) => {
    await rename(from, to);
    if (String(to).endsWith("/tag1")) {
      Object.assign(looked, { done: true, copy: await cache.find(uri, "tag1", "full") });
    }
  };
  try {
    await cache.fill(uri, async (tmp) => {
      await Deno.writeFile(join(tmp, "model.onnx"), bytes);
      return { tag: "tag1", files: [file] };
    });
  } finally {
    Deno.rename = rename;
  }
  assert.ok(looked.done, "the copy was looked at as it landed");
  assert.deepEqual(looked.copy?.files, [file]);
  assert.deepEqual((await cache.find(uri, "tag1", "full"))?.files, [file]);
});
