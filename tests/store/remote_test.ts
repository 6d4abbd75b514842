/**
 * Downloads are bounded in time and size, against a hostile HTTP server on
 * 127.0.0.1 (one that trickles, lies about lengths, sends too much) and a
 * real S3-protocol server (s3rver): each is cut off with an error that names
 * the URL and no secret, and nothing of it stays in the cache.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describeError } from "../../src/errors.ts";
import { openModel, resolveModel } from "../../src/store/mod.ts";
import { MODELS, rejection, tempDir } from "../helpers.ts";
import { startS3 } from "./servers.ts";

const RF_ONNX = await Deno.readFile(join(MODELS, "ride-duration-rf", "model.onnx"));
const MIB = 2 ** 20;

/** What the hostile server did: bytes of bodies sent, per path. */
interface Hostile {
  url: string;
  sent: Map<string, number>;
  /** `/switch/model.onnx` serves the model until this is set, then trickles it. */
  switched: boolean;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Paths: `/trickle/model.onnx` sends one byte a second (its length told);
 * `/endless/model.onnx` streams 64 KiB chunks up to 64 MiB, telling no
 * length; `/huge/model.onnx` tells a 1 GB length; `/short/model.onnx` and
 * `/long/model.onnx` tell the model's length and send half of it, or it and
 * more; `/rf/model.onnx` is the model, whole and honest.
 */
function startHostile(): Hostile {
  const sent = new Map<string, number>();
  const state = { switched: false };
  // Ends every body still streaming at close: a client that never hung up must not keep the server open.
  const closing = new AbortController();
  const count = (path: string, n: number) => sent.set(path, (sent.get(path) ?? 0) + n);
  const stream = (path: string, chunks: () => AsyncGenerator<Uint8Array>) => {
    const it = chunks();
    return new ReadableStream<Uint8Array>({
      async pull(c) {
        const next = await it.next();
        if (next.done) return c.close();
        count(path, next.value.length);
        c.enqueue(next.value);
      },
      async cancel() {
        await it.return(undefined);
      },
    });
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    const head = req.method === "HEAD";
    const told = (length: number, body: () => ReadableStream<Uint8Array> | Uint8Array) =>
      new Response(head ? null : body() as BodyInit, { headers: { "content-length": String(length) } });
    const trickles = path === "/trickle/model.onnx" || (path === "/switch/model.onnx" && state.switched);
    if (trickles) {
      return told(RF_ONNX.length, () =>
        stream(path, async function* () {
          for (const byte of RF_ONNX) {
            if (closing.signal.aborted) return;
            yield new Uint8Array([byte]);
            await new Promise((r) => setTimeout(r, 1000));
          }
        }));
    }
    switch (path) {
      case "/endless/model.onnx":
        return new Response(
          head ? stream(path, async function* () {}) : stream(path, async function* () {
            for (let i = 0; i < 1024; i++) yield new Uint8Array(64 * 1024);
          }),
        );
      case "/huge/model.onnx":
        return head ? told(1e9, () => new Uint8Array()) : new Response(stream(path, async function* () {
          for (let i = 0; i < 1024; i++) yield new Uint8Array(64 * 1024);
        }));
      case "/short/model.onnx":
        return head ? told(RF_ONNX.length, () => new Uint8Array()) : new Response(stream(path, async function* () {
          yield RF_ONNX.slice(0, RF_ONNX.length / 2);
        }));
      case "/long/model.onnx":
        return head ? told(RF_ONNX.length, () => new Uint8Array()) : new Response(stream(path, async function* () {
          yield RF_ONNX;
          for (let i = 0; i < 1024; i++) yield new Uint8Array(64 * 1024);
        }));
      case "/rf/model.onnx":
      case "/switch/model.onnx":
        return told(RF_ONNX.length, () => RF_ONNX);
      case "/changing/model.onnx":
        // Another file lands between the listing (HEAD) and the download (GET): its ETag changes with it.
        return new Response(head ? null : RF_ONNX, {
          headers: { "content-length": String(RF_ONNX.length), etag: head ? '"v1"' : '"v2"' },
        });
      default:
        return new Response("not here", { status: 404 });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    sent,
    get switched() {
      return state.switched;
    },
    set switched(on) {
      state.switched = on;
    },
    [Symbol.asyncDispose]: () => {
      closing.abort();
      return server.shutdown();
    },
  };
}

/** Every file under `dir`, relative (the cache after a failure holds none). */
async function filesUnder(dir: string, at = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, at))) {
    if (e.isDirectory) out.push(...await filesUnder(dir, join(at, e.name)));
    else out.push(join(at, e.name));
  }
  return out;
}

/** What `fn` gives, failing the test if it takes more than `boundMs` (on a hang it would otherwise hang the test). */
async function within<T>(boundMs: number, fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still fetching after ${boundMs} ms`)), boundMs);
  });
  const started = performance.now();
  try {
    const value = await Promise.race([fn(), bound]);
    return { value, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** `fn`'s rejection, within `boundMs`. */
async function rejectionWithin(boundMs: number, fn: () => Promise<unknown>) {
  const { value, ms } = await within(boundMs, () => rejection(fn));
  return { err: value, ms };
}

Deno.test("HTTP downloads are bounded in time and size", async (t) => {
  await using http = startHostile();
  const secretUrl = (path: string) =>
    `${http.url.replace("http://", "http://reader:pa55word@")}${path}?X-Amz-Signature=s1gnature`;

  await t.step("a server trickling a byte a second: cut off by the deadline, naming the URL, no secret", async () => {
    await using cache = await tempDir();
    const { err, ms } = await rejectionWithin(
      20_000,
      () => resolveModel(secretUrl("/trickle/model.onnx"), { cacheDir: cache.path, timeoutSeconds: 2 }),
    );
    assert.equal(err.exitCode, 69, err.message);
    assert.match(
      err.message,
      /did not deliver http:\/\/reader:\*\*\*@127\.0\.0\.1:\d+\/trickle\/model\.onnx\?X-Amz-Signature=\*\*\* within 2 s \(--model-timeout, SCORE_MODEL_TIMEOUT\)/,
    );
    assert.ok(!/pa55word|s1gnature/.test(err.message), err.message);
    assert.ok(ms >= 1_900 && ms < 10_000, `cut off after ${ms} ms`);
    assert.deepEqual(await filesUnder(cache.path), []);
  });

  const tooLarge = [
    { name: "a body of unknown length", path: "/endless/model.onnx", mostSent: 8 * MIB },
    { name: "a listed length past the bound, before any byte", path: "/huge/model.onnx", mostSent: 0 },
  ];
  for (const c of tooLarge) {
    await t.step(`${c.name}: refused (78) once past --model-max-bytes, nothing cached`, async () => {
      await using cache = await tempDir();
      const { err } = await rejectionWithin(
        20_000,
        () => resolveModel(`${http.url}${c.path}`, { cacheDir: cache.path, maxBytes: MIB }),
      );
      assert.equal(err.exitCode, 78, err.message);
      assert.match(err.message, /larger than the 1048576 bytes allowed .*--model-max-bytes \(SCORE_MODEL_MAX_BYTES\)/);
      assert.ok((http.sent.get(c.path) ?? 0) <= c.mostSent, `the server sent ${http.sent.get(c.path)} bytes`);
      assert.deepEqual(await filesUnder(cache.path), []);
    });
  }

  const liars = [
    { name: "a body shorter than its listed length", path: "/short/model.onnx", message: /incomplete|failed/ },
    { name: "a body longer than its listed length", path: "/long/model.onnx", message: /more than the \d+ bytes/ },
  ];
  for (const c of liars) {
    await t.step(`${c.name}: refused as the store failing (69), nothing cached`, async () => {
      await using cache = await tempDir();
      const { err } = await rejectionWithin(
        20_000,
        () => resolveModel(`${http.url}${c.path}`, { cacheDir: cache.path }),
      );
      assert.equal(err.exitCode, 69, err.message);
      assert.match(err.message, c.message);
      assert.ok((http.sent.get(c.path) ?? 0) < 8 * MIB, `the server sent ${http.sent.get(c.path)} bytes`);
      assert.deepEqual(await filesUnder(cache.path), []);
    });
  }

  await t.step("the URL of a good model starts to trickle: the good copy serves, the deadline the reason", async () => {
    await using cache = await tempDir();
    http.switched = false;
    const good = await openModel(`${http.url}/switch/model.onnx`, { cacheDir: cache.path, timeoutSeconds: 2 });
    await good.model.close();
    http.switched = true;
    const { value: { model, resolved } } = await within(
      20_000,
      () => openModel(`${http.url}/switch/model.onnx`, { cacheDir: cache.path, timeoutSeconds: 2 }),
    );
    await model.close();
    assert.equal(model.version, good.model.version);
    assert.match(resolved.stale?.reason ?? "", /did not deliver .*\/switch\/model\.onnx within 2 s/);
    assert.deepEqual(await Deno.readFile(resolved.onnxPath), RF_ONNX);
  });

  await t.step("a file that changes between its listing and its download: refused (69), nothing cached", async () => {
    await using cache = await tempDir();
    const err = await rejection(() =>
      resolveModel(`${http.url}/changing/model.onnx`, { cacheDir: cache.path, timeoutSeconds: 30 })
    );
    assert.equal(describeError(err).exitCode, 69, err.message);
    assert.match(err.message, /changed while it was being fetched \(ETag v1 listed, v2 sent\); try again/);
    const left = [...Deno.readDirSync(cache.path)].flatMap((e) =>
      e.isDirectory ? [...Deno.readDirSync(join(cache.path, e.name))].map((f) => f.name) : []
    );
    assert.deepEqual(left.filter((n) => !n.startsWith(".")), []);
  });

  await t.step("an honest server within the bounds: fetched", async () => {
    await using cache = await tempDir();
    const r = await resolveModel(`${http.url}/rf/model.onnx`, {
      cacheDir: cache.path,
      timeoutSeconds: 30,
      maxBytes: RF_ONNX.length,
    });
    assert.deepEqual(await Deno.readFile(r.onnxPath), RF_ONNX);
  });
});

Deno.test("S3 downloads are bounded in size", async (t) => {
  await using s3 = await startS3("models");
  await s3.put("big/model.onnx", new Uint8Array(3 * MIB));
  await s3.put("dir/MLmodel", "flavors:\n  onnx:\n    data: model.onnx\nrun_id: r1\n");
  await s3.put("dir/model.onnx", RF_ONNX);
  await s3.put("dir/weights.bin", new Uint8Array(MIB));
  const cases = [
    { name: "an object past the bound", uri: "s3://models/big/model.onnx" },
    { name: "a folder whose files together pass the bound", uri: "s3://models/dir" },
  ];
  for (const c of cases) {
    await t.step(`${c.name}: refused (78), nothing cached`, async () => {
      await using cache = await tempDir();
      const err = await rejection(() => resolveModel(c.uri, { cacheDir: cache.path, env: s3.env, maxBytes: MIB }));
      assert.equal(err.exitCode, 78, err.message);
      assert.match(err.message, /larger than the 1048576 bytes allowed/);
      assert.deepEqual(await filesUnder(cache.path), []);
    });
  }
});
