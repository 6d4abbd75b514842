/**
 * `score serve --listener deno`: `Deno.serve`, about 2.5 times the requests
 * per second of node:http here, but with no header, body or idle timeouts
 * and no cap on connections. For use only behind a reverse proxy that
 * enforces those; the default listener is `src/http/listen.ts`.
 */
import type { HttpListener } from "./listen.ts";

/**
 * Listens with `fetch` as the handler, through `Deno.serve`.
 *
 * @example
 * ```ts
 * const server = await listenDeno(app.fetch, { hostname: "127.0.0.1", port: 9696 });
 * await server.shutdown();
 * ```
 */
export async function listenDeno(
  fetch: (request: Request) => Response | Promise<Response>,
  options: { hostname: string; port: number },
): Promise<HttpListener> {
  const listening = Promise.withResolvers<Deno.NetAddr>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    // onListen replaces Deno's own "Listening on" line on stdout.
    server = Deno.serve({ hostname: options.hostname, port: options.port, onListen: listening.resolve }, fetch);
  } catch (err) {
    // The same code node:http gives, so the caller maps one error.
    if (err instanceof Deno.errors.AddrInUse) throw Object.assign(err, { code: "EADDRINUSE" });
    throw err;
  }
  const address = await listening.promise;
  return {
    hostname: address.hostname,
    port: address.port,
    // Stops accepting, closes idle connections, and resolves when in-flight requests are answered.
    shutdown: () => server.shutdown(),
  };
}
