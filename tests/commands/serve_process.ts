/**
 * A real `score serve` process for tests: started on a free port (`--port
 * 0`, the port read from the "listening" log line), with one worker unless
 * told (`--workers`, or `SCORE_WORKERS` in `env`: see ONE_WORKER in
 * tests/helpers.ts), its stderr read to the end in the background, stopped
 * and reaped on dispose.
 */
import { join } from "node:path";
import { ROOT, scoreEnv, waitUntil } from "../helpers.ts";

/** A running `score serve`, stopped and reaped on dispose. */
export interface Server {
  url: string;
  port: number;
  /** The gRPC port, when started with `--grpc-port`. */
  grpcPort?: number;
  child: Deno.ChildProcess;
  /** stderr lines so far. */
  lines: string[];
  /** Sends a signal and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startServer(
  args: string[],
  env: Record<string, string | undefined> = {},
  options: { openFiles?: number } = {},
): Promise<Server> {
  const score = [join(ROOT, "score"), "serve", "--port", "0", ...args];
  // With openFiles, under `ulimit -n` as an operator might set it.
  const command = options.openFiles
    ? ["sh", "-c", `ulimit -n ${options.openFiles} && exec "$@"`, "sh", ...score]
    : score;
  const child = new Deno.Command(command[0], {
    args: command.slice(1),
    ...scoreEnv(env),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const listening = Promise.withResolvers<{ port: number; grpc_port?: number }>();
  // Read stderr to the end in the background, so the child never blocks on a full pipe.
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        lines.push(line);
        if (line.includes('"msg":"listening"')) listening.resolve(JSON.parse(line));
      }
    }
    listening.reject(new Error(`score serve exited before listening:\n${lines.join("\n")}${rest}`));
  })();
  let exited: Promise<number> | undefined;
  const wait = () =>
    exited ??= child.status.then(async (s) => {
      await reading;
      return s.code;
    });
  const { port, grpc_port: grpcPort } = await listening.promise.catch(async (err) => {
    await wait();
    throw err;
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    grpcPort,
    child,
    lines,
    stop: (signal: Deno.Signal = "SIGTERM") => {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
      return wait();
    },
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await wait();
    },
  };
}

/**
 * Waits until `n` requests are being answered besides the scrape that asks
 * (`score_http_requests_in_flight` on /metrics): a request is in flight
 * before a test sends the signal it must outlive.
 */
export async function requestsInFlight(server: Server, n: number): Promise<void> {
  await waitUntil(async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    return Number(/^score_http_requests_in_flight (\d+)/m.exec(text)?.[1]) - 1 >= n;
  }, `${n} request(s) in flight`);
}
