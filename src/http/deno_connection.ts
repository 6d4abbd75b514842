/**
 * Deno's HTTP server on one accepted connection: the engine of `Deno.serve`
 * (hyper, answers written natively) without its accept loop, so that the
 * guarded listener (`listen_guarded.ts`) can count, cap and time out
 * connections itself, which `Deno.serve` cannot. Deno exposes no public API
 * for this; its internal `serveHttpOnConnection` (behind `Deno.serve` and
 * node:http2's compatibility) is reached here and only here, and
 * tests/http/deno_connection_test.ts pins what is relied on: it serves a
 * keep-alive connection, aborting its signal closes the connection when no
 * request is in flight, `finished` settles once it is closed, and
 * `stopServing` may abort a connection its peer has just closed.
 */

/** The server on one connection. */
export interface ConnectionServer {
  /** Settles when the connection is closed (by either side). */
  finished: Promise<void>;
  /** Stops taking requests on the connection, answers the one in flight, closes. */
  shutdown(): Promise<void>;
}

type Handler = (request: Request) => Response | Promise<Response>;

type ServeOnConnection = (
  conn: Deno.Conn,
  signal: AbortSignal,
  handler: Handler,
  onError: (error: unknown) => Response | Promise<Response>,
  onListen: (scheme: string) => void,
) => ConnectionServer;

/** Whether this Deno has the per-connection server (`serveConnection` throws otherwise). */
export function hasConnectionServer(): boolean {
  return typeof internals()?.serveHttpOnConnection === "function";
}

function internals(): { serveHttpOnConnection?: ServeOnConnection } | undefined {
  const deno = Deno as unknown as Record<symbol, { serveHttpOnConnection?: ServeOnConnection }>;
  const key = (Deno as unknown as { internal?: symbol }).internal;
  return key === undefined ? undefined : deno[key];
}

/**
 * Serves HTTP/1.1 on `conn` until it closes or `signal` aborts (then as a
 * graceful shutdown: a request in flight is answered, then the connection
 * closes).
 *
 * @example
 * ```ts
 * const conn = await listener.accept();
 * const served = serveConnection(conn, controller.signal, (req) => new Response("ok"), onError);
 * await served.finished;
 * ```
 */
export function serveConnection(
  conn: Deno.Conn,
  signal: AbortSignal,
  handler: Handler,
  onError: (error: unknown) => Response | Promise<Response>,
): ConnectionServer {
  const serve = internals()?.serveHttpOnConnection;
  if (serve === undefined) {
    throw new Error("This Deno has no per-connection HTTP server (Deno.internal.serveHttpOnConnection)");
  }
  return serve(conn, signal, handler, onError, () => {});
}

/**
 * Aborts `controller`, the signal a connection is served with (see {@linkcode serveConnection}): the connection
 * closes once the request in flight, if any, is answered.
 *
 * Deno's listener on that signal closes the connection's resource; when the peer closed the connection a moment
 * before (its `finished` not settled yet), the resource is gone and that listener throws BadResource. Thrown inside
 * an event listener, it would be reported as uncaught and end the process (every request in flight with it), so
 * that one error is caught here, while the abort runs: an event listener's error is reported synchronously.
 *
 * @example
 * ```ts
 * const close = new AbortController();
 * serveConnection(conn, close.signal, handler, onError);
 * stopServing(close);
 * ```
 */
export function stopServing(controller: AbortController): void {
  const goneAlready = (event: ErrorEvent) => {
    if (event.error instanceof Deno.errors.BadResource) event.preventDefault();
  };
  globalThis.addEventListener("error", goneAlready);
  try {
    controller.abort();
  } finally {
    globalThis.removeEventListener("error", goneAlready);
  }
}
