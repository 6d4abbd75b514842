/**
 * The default listener of `score serve`: Deno's own HTTP server (the engine
 * of `Deno.serve`) on connections this file accepts itself, so that it can
 * do what `Deno.serve` cannot: cap connections, time out slow and idle
 * clients, and keep accepting after running out of file descriptors.
 *
 * - Past `maxConnections` open, a new connection is closed at once (counted, logged once a minute).
 * - A connection whose request headers do not arrive within `headersTimeoutMs` of its opening, or that stays
 *   idle `keepAliveTimeoutMs` after an answer, is closed (a request in flight is never cut).
 * - A request with a body (any method but GET and HEAD) not answered within `bodyTimeoutMs` of its headers gets
 *   408 and its connection is closed: the listener cannot see when the body has arrived, only when the answer is
 *   ready, so this bounds the body and the answer together (a model run is milliseconds; the body is what a slow
 *   client stretches). Requests without a body may take as long as they need.
 * - An accept that fails (EMFILE: out of descriptors) is counted, logged once per burst and retried shortly; the
 *   listening socket is kept, and the connections waiting in its backlog are accepted once descriptors are back.
 *
 * Deadlines are checked by one sweep a few times per shortest timeout against a clock that sweep keeps, so a
 * request costs no timer and no clock read. The per-connection server is reached through `deno_connection.ts`.
 */
import { log } from "../log.ts";
import { acceptFailure } from "./accept_failure.ts";
import { serveConnection, stopServing } from "./deno_connection.ts";
import type { ConnectionStats, HttpListener, ListenOptions } from "./listen.ts";

type Fetch = (request: Request) => Response | Promise<Response>;

/** After a failed accept, the next try waits this long (the backlog keeps the clients meanwhile). */
const ACCEPT_RETRY_MS = 100;
/** A burst of failures or refusals within this logs one warning. */
const QUIET_MS = 60_000;

/** What a connection is waiting for; each wait has its own limit. */
const enum Wait {
  /** The first request's headers. */
  Headers,
  /** The answer to a request with a body (the body, then the model). */
  Body,
  /** The answer to a request without a body: unbounded. */
  Answer,
  /** The next request on a kept-alive connection. */
  Idle,
  /** Closing. */
  Closing,
}

interface Guarded {
  wait: Wait;
  /** The sweep clock's reading when the wait began. */
  since: number;
  close: AbortController;
  /** Set while a request with a body is in flight: its answer's resolver (the sweep answers 408 through it). */
  timeOut?: (res: Response) => void;
  finished: Promise<void>;
  /** The fallback close of a last answer (see closeAfter). */
  closing?: ReturnType<typeof setTimeout>;
  /** Set once `finished` settles: aborting then would throw inside Deno's listener. */
  closed: boolean;
}

/**
 * Listens with `fetch` as the handler, guarded as the module says.
 *
 * @example
 * ```ts
 * const server = await listenGuarded(app.fetch, { hostname: "127.0.0.1", port: 9696, headersTimeoutMs: 30_000,
 *   bodyTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000, maxConnections: 1000 });
 * await server.shutdown();
 * ```
 */
export function listenGuarded(
  fetch: Fetch,
  options: ListenOptions,
): Promise<HttpListener & { stats: ConnectionStats }> {
  const stats: ConnectionStats = { open: 0, refused: 0, timedOut: 0, acceptErrors: 0, probesAccepted: 0 };
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({
      hostname: options.hostname,
      port: options.port,
      transport: "tcp",
      ...(options.reusePort ? { reusePort: true } : {}),
    });
  } catch (err) {
    // The same code node:http gives, so the caller maps one error.
    if (err instanceof Deno.errors.AddrInUse) throw Object.assign(err, { code: "EADDRINUSE" });
    throw err;
  }
  const connections = new Set<Guarded>();
  let clock = performance.now();
  const limits = [options.headersTimeoutMs, options.bodyTimeoutMs, Infinity, options.keepAliveTimeoutMs, Infinity];
  const sweepEvery = Math.max(10, Math.min(1000, Math.min(...limits) / 4));
  const sweeper = setInterval(() => {
    clock = performance.now();
    for (const c of connections) {
      if (clock - c.since < limits[c.wait]) continue;
      stats.timedOut++;
      const timeOut = c.timeOut;
      if (timeOut) {
        c.timeOut = undefined;
        c.wait = Wait.Closing;
        timeOut(closeAfter(new Response(null, { status: 408 }), c));
      } else {
        c.wait = Wait.Closing;
        stop(c);
      }
    }
  }, sweepEvery);
  let lastRefusal = 0;
  let lastAcceptError = 0;
  let stopped = false;

  const guard = (conn: Deno.Conn) => {
    const c: Guarded = {
      wait: Wait.Headers,
      since: clock,
      close: new AbortController(),
      finished: undefined!,
      closed: false,
    };
    // After an answer: wait for the next request, or, when shutting down, close once this answer is written.
    const answered = (res: Response) => {
      c.timeOut = undefined;
      if (stopped) {
        c.wait = Wait.Closing;
        closeAfter(res, c);
      } else if (c.wait !== Wait.Closing) {
        c.wait = Wait.Idle;
        c.since = clock;
      }
      return res;
    };
    const handler = (request: Request): Response | Promise<Response> => {
      c.since = clock;
      const method = request.method;
      if (method === "GET" || method === "HEAD") {
        c.wait = Wait.Answer;
        const res = fetch(request);
        return res instanceof Promise ? res.then(answered) : answered(res);
      }
      c.wait = Wait.Body;
      const res = fetch(request);
      if (!(res instanceof Promise)) return answered(res);
      // The answer Deno waits for is one the sweep can also settle (with 408). Made with withResolvers and one
      // callback: a Promise executor with its closures per request cost more than everything else the guard does.
      const pending = Promise.withResolvers<Response>();
      c.timeOut = pending.resolve;
      res.then((r) => {
        if (c.timeOut !== pending.resolve) return;
        pending.resolve(answered(r));
      }, pending.reject);
      return pending.promise;
    };
    try {
      const served = serveConnection(conn, c.close.signal, handler, onError);
      c.finished = served.finished;
    } catch (err) {
      conn.close();
      throw err;
    }
    stats.open++;
    connections.add(c);
    c.finished.catch(() => {}).finally(() => {
      c.closed = true;
      clearTimeout(c.closing);
      stats.open--;
      connections.delete(c);
    });
  };

  const refuse = (conn: Deno.Conn) => {
    conn.close();
    stats.refused++;
    const now = Date.now();
    if (now - lastRefusal > QUIET_MS) {
      log.warn("connection limit reached: refusing new connections (counted in score_http_connections_refused_total)", {
        max_connections: options.maxConnections,
      });
    }
    lastRefusal = now;
  };

  const acceptFailed = (err: unknown) => {
    stats.acceptErrors++;
    const now = Date.now();
    if (now - lastAcceptError > QUIET_MS) {
      log.warn("cannot accept connections: recovering (counted in score_http_accept_errors_total)", {
        reason: acceptFailure(err),
        open_connections: stats.open,
      });
    }
    lastAcceptError = now;
  };

  const accepting = (async () => {
    while (!stopped) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (stopped || err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) break;
        acceptFailed(err);
        await new Promise((r) => setTimeout(r, ACCEPT_RETRY_MS));
        continue;
      }
      if (stopped) {
        conn.close();
        break;
      }
      if (stats.open >= options.maxConnections) {
        refuse(conn);
        continue;
      }
      try {
        guard(conn);
      } catch (err) {
        log.error("cannot serve a connection", { error: String(err) });
      }
    }
  })();

  const address = listener.addr as Deno.NetAddr;
  return Promise.resolve({
    hostname: address.hostname,
    port: address.port,
    stats,
    acceptErrors: () => stats.acceptErrors,
    shutdown: async () => {
      stopped = true;
      listener.close();
      await accepting;
      // Idle connections close at once; one with a request in flight once its answer is written (see answered).
      for (const c of connections) {
        if (c.wait === Wait.Answer || c.wait === Wait.Body) continue;
        c.wait = Wait.Closing;
        stop(c);
      }
      await Promise.all([...connections].map((c) => c.finished.catch(() => {})));
      clearInterval(sweeper);
    },
  });
}

/**
 * Marks an answer as the connection's last: Deno closes the connection once it is written (aborting at once
 * would cut it off); should that not happen, the connection is closed a second later.
 */
function closeAfter(res: Response, c: Guarded): Response {
  try {
    res.headers.set("connection", "close");
  } catch {
    // Immutable headers (a Response.error()): the fallback below closes it.
  }
  c.closing ??= setTimeout(() => stop(c), 1000);
  return res;
}

/** Closes a connection gracefully (a request in flight is answered first), unless it is closed already. */
function stop(c: Guarded): void {
  if (!c.closed && !c.close.signal.aborted) stopServing(c.close);
}

/** A handler that throws past the app's own error handling (the app maps every error): a bare 500. */
function onError(err: unknown): Response {
  log.error("request failed outside the app", { error: String(err), stack: (err as Error)?.stack });
  return new Response(null, { status: 500 });
}
