/**
 * Where `score serve` listens: node:http (through `@hono/node-server`)
 * rather than `Deno.serve`, because only node:http can defend the process
 * against clients: `Deno.serve` has no header, body or idle timeouts and no
 * cap on connections, so connections can exhaust its file descriptors
 * (`listen_deno.ts` survives that, but cannot prevent it). Here a request whose headers do not arrive
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
 * Nor does a listener whose accept fails with EMFILE ever accept again,
 * and it says nothing (no 'error', no callback): a watchdog
 * (`listener_watchdog.ts`) connects to it once a second, and when that
 * probe fails for want of descriptors, or is not accepted within a few
 * seconds, the listener is counted, logged and opened anew on the same
 * address (open connections are kept), through node:http's internals
 * (`node_server_internals.ts`, the one file that reaches them).
 */
import { createAdaptorServer } from "@hono/node-server";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { log } from "../log.ts";
import { listenerWatchdog } from "./listener_watchdog.ts";
import { relisten } from "./node_server_internals.ts";

export { defaultMaxConnections } from "./max_connections.ts";

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
  /** Share the port with other listeners that set it too (SO_REUSEPORT: `serve --workers`, one per thread). */
  reusePort?: boolean;
}

/** Connection counters, read by `/metrics`. */
export interface ConnectionStats {
  /** Open now. */
  open: number;
  /** Closed at once because `maxConnections` were open. */
  refused: number;
  /** Closed because headers or a body did not arrive in time. */
  timedOut: number;
  /** Times the listener was found unable to accept (out of descriptors, or stalled by that). */
  acceptErrors: number;
  /** The watchdog's probes that the listener accepted. */
  probesAccepted: number;
}

/** A listening server. */
export interface HttpListener {
  hostname: string;
  port: number;
  /** Counted by node:http's listener only (`Deno.serve` exposes no connections). */
  stats?: ConnectionStats;
  /** Times the listener could not accept and was opened anew (both listeners). */
  acceptErrors(): number;
  /** Stops accepting, closes idle connections, resolves when the last request is answered. */
  shutdown(): Promise<void>;
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
): Promise<HttpListener & { stats: ConnectionStats }> {
  const stats: ConnectionStats = { open: 0, refused: 0, timedOut: 0, acceptErrors: 0, probesAccepted: 0 };
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
  // One listener per connection: setTimeout(ms, callback) adds one each call, so re-arming that way after each
  // request piled up listeners on a keep-alive connection (thousands under load), each counting its timeout again.
  function timedOut(this: Socket) {
    stats.timedOut++;
    this.destroy();
  }
  server.on("connection", (socket: Socket) => {
    // A probe of the watchdog is served like any connection; it closes itself.
    watchdog.seen(socket.remotePort);
    // Counted here, not with node:http's maxConnections: under Deno that stops accepting for good after drops.
    if (stats.open >= options.maxConnections) return refused(socket);
    stats.open++;
    socket.once("close", () => stats.open--);
    // A connection that never completes a request line is not covered by headersTimeout here.
    socket.on("timeout", timedOut);
    socket.setTimeout(options.headersTimeoutMs);
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    // From the headers on, requestTimeout bounds the body; the answer may take as long as the model needs.
    req.socket.setTimeout(0);
    res.once("finish", () => {
      if (!req.socket.destroyed) req.socket.setTimeout(options.headersTimeoutMs);
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
    // Its timeout, if that is why, is counted already.
    socket.removeListener("timeout", timedOut);
    socket.setTimeout(1000, () => socket.destroy());
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  };
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
    server.listen({ host: options.hostname, port: options.port, reusePort: options.reusePort });
  });
  server.on("error", (err) => log.error("listener error", { error: err.message }));
  const address = server.address() as AddressInfo;
  let lastAcceptError = 0;
  // At the cap, refusals show that accepts work: no probe then (it would only be refused).
  const atCap = () => stats.open >= options.maxConnections;
  const watchdog = listenerWatchdog({
    hostname: address.address,
    port: address.port,
    atCap,
    reopen: () => relisten(server, { hostname: address.address, port: address.port, reusePort: options.reusePort }),
    trouble: (reason) => {
      stats.acceptErrors++;
      const now = Date.now();
      if (now - lastAcceptError > 60_000) {
        log.warn("cannot accept connections: recovering (counted in score_http_accept_errors_total)", {
          reason,
          open_connections: stats.open,
        });
      }
      lastAcceptError = now;
    },
    answered: () => stats.probesAccepted++,
  });
  return {
    hostname: address.address,
    port: address.port,
    stats,
    acceptErrors: () => stats.acceptErrors,
    shutdown: () =>
      new Promise<void>((resolve) => {
        watchdog.stop();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
