/**
 * Reproduces Deno 2.9.6's node:http2 abort when a gRPC client closes a
 * connection that carried many calls (denoland/deno#36788), and checks the
 * adapter's workaround in the same run. Each try starts a server process,
 * then runs ROUNDS client processes against it, each making CALLS ServerLive
 * calls from CALLERS callers on one channel and then closing the channel
 * (GOAWAY); the try fails when the server process dies. Tries alternate
 * between a bare grpc-js server (`bare`, the library alone) and one started
 * by score's adapter (`adapter`, src/grpc/grpc_js.ts).
 *
 *   ./scripts/deno run -A bench/grpc_goaway_repro.ts [tries] [--rounds=N] [--client=node|deno]
 *
 * The Node client is tests/grpc/node_peer.cjs (grpc-js from node_modules).
 */
import * as grpc from "@grpc/grpc-js";
import { listenGrpc } from "../src/grpc/grpc_js.ts";
import { inferenceClient } from "../tests/grpc/client.ts";
import { PROTO_PATH } from "../src/grpc/grpc_js.ts";
import * as loader from "@grpc/proto-loader";

const CALLS = 400;
const CALLERS = 8;
const NODE_PEER = new URL("../tests/grpc/node_peer.cjs", import.meta.url).pathname;

const [mode, arg] = Deno.args;
if (mode === "server") {
  console.log(arg === "bare" ? await bareServer() : await adapterServer());
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
} else if (mode === "client") {
  Deno.exit(await denoClient(arg));
} else {
  await main();
}

/** grpc-js alone: one ServerLive handler, nothing of score's. */
async function bareServer(): Promise<number> {
  const definition = loader.loadSync(PROTO_PATH, { keepCase: true });
  const service = (grpc.loadPackageDefinition(definition) as any).inference.GRPCInferenceService.service;
  const server = new grpc.Server();
  server.addService(service, {
    ServerLive: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { live: true }),
  });
  return await new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => e ? reject(e) : resolve(p))
  );
}

/** The same handler served through score's adapter. */
async function adapterServer(): Promise<number> {
  const server = await listenGrpc({ ServerLive: () => Promise.resolve({ live: true }) }, {
    hostname: "127.0.0.1",
    port: 0,
    maxMessageBytes: 1 << 20,
  });
  return server.port;
}

/** One round from a grpc-js client on Deno: the exit code is the number of failed calls (capped). */
async function denoClient(port: string): Promise<number> {
  const client = inferenceClient(`127.0.0.1:${port}`);
  let next = 0, failed = 0;
  await Promise.all(Array.from({ length: CALLERS }, async () => {
    while (next++ < CALLS) if ((await client.call("ServerLive", {})).code !== "OK") failed++;
  }));
  client.close();
  return Math.min(failed, 100);
}

async function main() {
  const tries = Number(Deno.args.find((a) => /^\d+$/.test(a)) ?? 10);
  const rounds = Number(Deno.args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 1);
  const clientKind = Deno.args.find((a) => a.startsWith("--client="))?.slice(9) ?? "node";
  const self = new URL(import.meta.url).pathname;
  const deno = Deno.execPath();
  const result: Record<string, { tries: number; aborted: number; exits: Record<string, number> }> = {};
  for (let i = 0; i < 2 * tries; i++) {
    const kind = i % 2 === 0 ? "bare" : "adapter";
    const r = result[kind] ??= { tries: 0, aborted: 0, exits: {} };
    const server = new Deno.Command(deno, {
      args: ["run", "-A", self, "server", kind],
      stdout: "piped",
      stderr: "piped",
    })
      .spawn();
    const stderr = new Response(server.stderr).text();
    const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`server ended before listening: ${await stderr}`);
      out += value;
    }
    reader.releaseLock();
    const port = out.trim();
    let dead = false;
    const status = server.status.finally(() => dead = true);
    for (let round = 0; round < rounds && !dead; round++) {
      const [cmd, args] = clientKind === "node"
        ? ["node", [NODE_PEER, port]]
        : [deno, ["run", "-A", self, "client", port]];
      await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output();
      // The abort comes while the server reads the GOAWAY: give it a moment (or the exit) before the next round.
      await Promise.race([status, new Promise((resolve) => setTimeout(resolve, 300))]);
    }
    if (!dead) server.kill("SIGTERM");
    const s = await status;
    const key = s.signal ?? String(s.code);
    r.tries++;
    r.exits[key] = (r.exits[key] ?? 0) + 1;
    if (s.code !== 0) {
      r.aborted++;
      console.error(`${kind} try ${r.tries}: exit ${s.code} ${(await stderr).trim().split("\n").at(-1) ?? ""}`);
    }
  }
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  console.log(JSON.stringify({ calls: CALLS, callers: CALLERS, rounds, client: clientKind, load, ...result }));
}
