/**
 * `score serve --listener deno`: `Deno.serve`, about 2.5 times the requests
 * per second of node:http here, but with no header, body or idle timeouts
 * and no cap on connections. For use only behind a reverse proxy that
 * enforces those; the default listener is `src/http/listen.ts`.
 *
 * When an accept fails (out of file descriptors: EMFILE), `Deno.serve`
 * closes its listening socket and rejects its `finished` promise (left
 * unhandled, that ends the process). Its connections stay open and are
 * served (shutting it down would cut a request whose body is still
 * arriving); a new listener is opened on the same address a second later,
 * and every second until it can be; one warning per burst, counted like
 * node:http's.
 */
import { log } from "../log.ts";
import { acceptFailure } from "./accept_failure.ts";
import type { HttpListener } from "./listen.ts";

/** How long after a listener died (or could not be opened) another is tried. */
const REOPEN_AFTER_MS = 1000;
/** A burst of failures within this logs one warning. */
const QUIET_MS = 60_000;
/** Dead listeners kept with their connections; one per death, so a long siege would otherwise grow the list. */
const MAX_DEAD = 100;

type Fetch = (request: Request) => Response | Promise<Response>;

/**
 * Listens with `fetch` as the handler, through `Deno.serve`, opening the
 * listener anew when it dies.
 *
 * @example
 * ```ts
 * const server = await listenDeno(app.fetch, { hostname: "127.0.0.1", port: 9696 });
 * await server.shutdown();
 * ```
 */
export async function listenDeno(
  fetch: Fetch,
  options: { hostname: string; port: number; reusePort?: boolean },
): Promise<HttpListener> {
  let acceptErrors = 0;
  let lastWarned = 0;
  let stopped = false;
  let reopening: ReturnType<typeof setTimeout> | undefined;
  let current: Deno.HttpServer<Deno.NetAddr> | undefined;
  // Dead listeners: their connections are left alone (a request in flight there is answered) until shutdown.
  const dead: Deno.HttpServer<Deno.NetAddr>[] = [];
  // Shutdowns under way, of listeners no longer kept.
  const draining = new Set<Promise<void>>();
  const drain = (server: Deno.HttpServer<Deno.NetAddr>) => {
    const done: Promise<void> = server.shutdown().catch(() => {}).finally(() => draining.delete(done));
    draining.add(done);
  };
  const died = (server: Deno.HttpServer<Deno.NetAddr>, err: unknown) => {
    if (current === server) current = undefined;
    acceptErrors++;
    const now = Date.now();
    if (now - lastWarned > QUIET_MS) {
      log.warn("cannot accept connections: recovering (counted in score_http_accept_errors_total)", {
        reason: acceptFailure(err),
      });
    }
    lastWarned = now;
    dead.push(server);
    // Bounded: past that many, the oldest is shut down (its idle connections closed, its requests answered).
    if (dead.length > MAX_DEAD) drain(dead.shift()!);
    if (!stopped) reopen();
  };
  let reopenFailedLogged = false;
  const reopen = () => {
    reopening = setTimeout(async () => {
      try {
        const { server } = await open(fetch, { ...options, port }, died);
        reopenFailedLogged = false;
        if (stopped) drain(server);
        else current = server;
      } catch (err) {
        if (!reopenFailedLogged) log.error("cannot listen anew; trying again every second", { error: String(err) });
        reopenFailedLogged = true;
        if (!stopped) reopen();
      }
    }, REOPEN_AFTER_MS);
  };
  const first = await open(fetch, options, died);
  current = first.server;
  // Port 0 picked a port: a listener opened anew takes the same.
  const port = first.address.port;
  return {
    hostname: first.address.hostname,
    port,
    acceptErrors: () => acceptErrors,
    // Stops accepting, closes idle connections, and resolves when in-flight requests (of dead listeners too) are answered.
    shutdown: async () => {
      stopped = true;
      clearTimeout(reopening);
      for (const server of [current, ...dead]) if (server) drain(server);
      await Promise.all(draining);
    },
  };
}

/** One `Deno.serve` listener, resolved once it listens; `died` is told when it stops without a shutdown. */
async function open(
  fetch: Fetch,
  address: { hostname: string; port: number; reusePort?: boolean },
  died: (server: Deno.HttpServer<Deno.NetAddr>, err: unknown) => void,
): Promise<{ server: Deno.HttpServer<Deno.NetAddr>; address: Deno.NetAddr }> {
  const listening = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    // onListen replaces Deno's own "Listening on" line on stdout.
    server = Deno.serve({ ...address, onListen: listening.resolve }, fetch);
  } catch (err) {
    // The same code node:http gives, so the caller maps one error.
    if (err instanceof Deno.errors.AddrInUse) throw Object.assign(err, { code: "EADDRINUSE" });
    throw err;
  }
  // Left unhandled, this rejection would end the process.
  server.finished.catch((err) => died(server, err));
  return { server, address: await listening.promise };
}
