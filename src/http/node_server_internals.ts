/**
 * The one reach into node:http's internals, for the watchdog of node:http's
 * listener (`listener_watchdog.ts`): a listener whose accept failed with
 * EMFILE never accepts again under Deno, and node:http has no public way to
 * close only the listening socket: `close()` also closes the idle
 * keep-alive connections, and emits 'close' once the rest are gone, which
 * is how the listener's shutdown learns it is done. So the listening
 * handle, `server._handle`, is closed and dropped here and the server
 * listens anew. tests/http/node_server_internals_test.ts pins what is relied
 * on: the server accepts again on the same port, a connection opened before
 * is kept and still served, a failed listen can be tried again, and
 * `close()` afterwards stops the new listener. Also pinned: after a failed
 * listen, while the server listens nowhere, node:http closes a keep-alive
 * connection once it has sent an answer on it (it keeps one alive only
 * while `server.listening`, so the same holds in the moment between the
 * close and the listen); an idle connection is kept.
 */
import type { Server } from "node:http";

/** Where a server listens again: the address it had (port 0 would pick another). */
export interface RelistenAddress {
  hostname: string;
  port: number;
  /** SO_REUSEPORT, as it listened first (`serve --workers`). */
  reusePort?: boolean;
}

/**
 * Closes only `server`'s listening socket, not its connections, and listens
 * again on `address`; rejects with the listen's error (then the server
 * listens nowhere, and a later call may try again).
 *
 * @example
 * ```ts
 * const { address, port } = server.address() as AddressInfo;
 * await relisten(server, { hostname: address, port });
 * ```
 */
export function relisten(server: Server, address: RelistenAddress): Promise<void> {
  const internals = server as unknown as { _handle: { close(): void } | null };
  internals._handle?.close();
  // listen() refuses a server that still has a handle (ERR_SERVER_ALREADY_LISTEN).
  internals._handle = null;
  return new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => {
      server.off("listening", done);
      reject(err);
    };
    const done = () => {
      server.off("error", failed);
      resolve();
    };
    server.once("listening", done);
    server.once("error", failed);
    server.listen({ host: address.hostname, port: address.port, reusePort: address.reusePort });
  });
}
