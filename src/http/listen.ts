/**
 * Where `score serve` listens: node:http (through `@hono/node-server`)
 * rather than `Deno.serve`, because only node:http can defend the process
 * against clients: `Deno.serve` has no header, body or idle timeouts and no
 * cap on connections, and dies of an uncaught EMFILE when connections
 * exhaust its file descriptors. Here a request whose headers do not arrive
 * within `headersTimeoutMs`, or whose whole body does not arrive within
 * `headersTimeoutMs + bodyTimeoutMs`, is closed; an idle keep-alive
 * connection is closed after `keepAliveTimeoutMs`; past `maxConnections`
 * a new connection is closed at once, so descriptors do not run out.
 *
 * The one file that knows node:http's knobs, pinned by tests/http/listen_test.ts:
 * under Deno, node:http checks its timeouts only with a short
 * `connectionsCheckingInterval`, never times out a partial request line
 * (a socket timeout covers that), and its `maxConnections` stops the
 * listener for good after a drop (the cap is counted here instead).
 */
import { createAdaptorServer } from "@hono/node-server";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { log } from "../log.ts";

/** How to listen. */
export interface ListenOptions {
  hostname: string;
  /** 0: any free port. */
  port: number;
  /** Time for a request's headers to arrive (also for the first bytes of a connection). */
  headersTimeoutMs: number;
  /** Time, after the headers' allowance, for the whole body to arrive. */
  bodyTimeoutMs: number;
  /** How long an idle keep-alive connection is kept. */
  keepAliveTimeoutMs: number;
  /** Most open connections; a new one past it is closed at once. */
  maxConnections: number;
}

/** Connection counters, read by `/metrics`. */
export interface ConnectionStats {
  /** Open now. */
  open: number;
  /** Closed at once because `maxConnections` were open. */
  refused: number;
  /** Closed because headers or a body did not arrive in time. */
  timedOut: number;
}

/** A listening server. */
export interface HttpListener {
  hostname: string;
  port: number;
  stats: ConnectionStats;
  /** Stops accepting, closes idle connections, resolves when the last request is answered. */
  shutdown(): Promise<void>;
}

/**
 * The most connections this process should hold: half its soft limit on
 * open files (Linux's /proc/self/limits), 1000 where it cannot be read.
 * Half, because a refused connection holds a descriptor until it is
 * closed, and under Deno a listener whose accept fails with EMFILE never
 * accepts again: the cap is what keeps descriptors from running out.
 *
 * @example
 * ```ts
 * defaultMaxConnections(); // 256 with `ulimit -n 512`
 * ```
 */
export function defaultMaxConnections(limits = readLimits()): number {
  const soft = /^Max open files\s+(\d+|unlimited)/m.exec(limits ?? "")?.[1];
  if (soft === undefined) return 1000;
  if (soft === "unlimited") return 100_000;
  return Math.max(16, Math.floor(Number(soft) / 2));
}

function readLimits(): string | undefined {
  try {
    return Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return undefined;
  }
}

/**
 * Listens with `fetch` as the handler.
 *
 * @example
 * ```ts
 * const server = await listen(app.fetch, { hostname: "127.0.0.1", port: 9696, headersTimeoutMs: 30_000,
 *   bodyTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxConnections: 1000 });
 * await server.shutdown();
 * ```
 */
export async function listen(
  fetch: (request: Request) => Response | Promise<Response>,
  options: ListenOptions,
): Promise<HttpListener> {
  const stats: ConnectionStats = { open: 0, refused: 0, timedOut: 0 };
  let lastRefusal = 0;
  const server = createAdaptorServer({
    fetch: (request) => fetch(request),
    // Its lightweight Request/Response replace the global ones (as by default): 1.4-2x the requests per second.
    overrideGlobalObjects: true,
    serverOptions: {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.headersTimeoutMs + options.bodyTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often (30 s by default).
      connectionsCheckingInterval: Math.min(1000, options.headersTimeoutMs),
    } as never,
  }) as Server;
  const timedOut = (socket: Socket) => {
    stats.timedOut++;
    socket.destroy();
  };
  server.on("connection", (socket: Socket) => {
    // Counted here, not with node:http's maxConnections: under Deno that stops accepting for good after drops.
    if (stats.open >= options.maxConnections) return refused(socket);
    stats.open++;
    socket.once("close", () => stats.open--);
    // A connection that never completes a request line is not covered by headersTimeout here.
    socket.setTimeout(options.headersTimeoutMs, () => timedOut(socket));
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    // From the headers on, requestTimeout bounds the body; the answer may take as long as the model needs.
    req.socket.setTimeout(0);
    res.once("finish", () => {
      if (!req.socket.destroyed) req.socket.setTimeout(options.headersTimeoutMs, () => timedOut(req.socket));
    });
  });
  const refused = (socket: Socket) => {
    socket.destroy();
    stats.refused++;
    const now = Date.now();
    if (now - lastRefusal > 60_000) {
      log.warn("connection limit reached: refusing new connections (counted in score_http_connections_refused_total)", {
        max_connections: options.maxConnections,
      });
    }
    lastRefusal = now;
  };
  server.on("clientError", (err: Error & { code?: string }, socket: Socket) => {
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ERR_HTTP_HEADERS_TIMEOUT") {
      stats.timedOut++;
      return refuse(socket, "408 Request Timeout");
    }
    if (err.code === "ECONNRESET") return socket.destroy();
    refuse(socket, "400 Bad Request");
  });
  // The answer goes out, and a client that does not read it cannot hold the socket beyond a second.
  const refuse = (socket: Socket, status: string) => {
    socket.setTimeout(1000, () => socket.destroy());
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  };
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
    server.listen({ host: options.hostname, port: options.port });
  });
  server.on("error", (err) => log.error("listener error", { error: err.message }));
  const address = server.address() as AddressInfo;
  return {
    hostname: address.address,
    port: address.port,
    stats,
    shutdown: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
