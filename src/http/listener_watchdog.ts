/**
 * The watchdog of node:http's listener (`listen.ts`). Under Deno, a
 * listener whose accept fails with EMFILE never accepts again, and says
 * nothing (no 'error', no callback); nor can the process ask it whether it
 * still accepts. So the watchdog asks as a client would: it connects to the
 * port once a second, and when that probe fails for want of descriptors, or
 * is not accepted within a few seconds, it reports trouble and has the
 * listener opened anew (by the caller, who knows how: `relisten` in
 * `node_server_internals.ts`).
 */
import { log } from "../log.ts";
import { acceptFailure, OUT_OF_DESCRIPTORS } from "./accept_failure.ts";

/** What the listener tells its watchdog, and how it stops it. */
export interface ListenerWatchdog {
  /** Told of every accepted connection (by its remote port): a probe's is how the probe learns it was accepted. */
  seen(port: number | undefined): void;
  /** Ends the probing (a probe in flight at once). */
  stop(): void;
}

/** The listener watched, and what the watchdog reports to it. */
export interface ListenerWatchdogOptions {
  /** Where it listens (a wildcard address is probed on loopback). */
  hostname: string;
  port: number;
  /** Whether it holds all the connections it may: refusals then show that accepts work, so no probe. */
  atCap: () => boolean;
  /** Opens it anew on the same address; a rejection is logged and tried again a second later. */
  reopen: () => Promise<void>;
  /** Told why it was found unable to accept, before any reopen. */
  trouble: (reason: string) => void;
  /** Told of each probe it accepted. */
  answered: () => void;
}

const PROBE_EVERY_MS = 1000;
/** Long enough that a busy event loop is not mistaken for a dead listener. */
const PROBE_TIMEOUT_MS = 3000;

/**
 * Connects to the listener every second; a probe that cannot get a
 * descriptor, or that the listener does not accept in time, reports
 * trouble, and in the second case the listener is opened anew.
 *
 * @example
 * ```ts
 * const watchdog = listenerWatchdog({ hostname: "127.0.0.1", port, atCap: () => false,
 *   reopen: () => relisten(server, { hostname: "127.0.0.1", port }), trouble: (r) => log.warn(r), answered: () => {} });
 * server.on("connection", (socket) => watchdog.seen(socket.remotePort));
 * watchdog.stop();
 * ```
 */
export function listenerWatchdog(options: ListenerWatchdogOptions): ListenerWatchdog {
  const { port, atCap, trouble, answered } = options;
  let stopped = false;
  let cancel = () => {};
  // While a probe is out, the remote ports accepted: the connection may be accepted before the probe learns its port.
  let arrived: Set<number> | undefined;
  let awaited: { port: number; resolve: () => void } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hostname = options.hostname === "0.0.0.0" ? "127.0.0.1" : options.hostname === "::" ? "::1" : options.hostname;
  // Set while the listening socket is closed and could not be opened again (e.g. still out of descriptors).
  let closed = false;
  const reopen = () =>
    options.reopen().then(() => closed = false, (err) => {
      closed = true;
      log.error("cannot listen anew; trying again in a second", { error: String(err) });
    });
  const probe = async () => {
    if (closed) return await reopen();
    if (atCap()) return;
    arrived = new Set();
    try {
      await probeOnce();
    } finally {
      arrived = undefined;
      awaited = undefined;
    }
  };
  const probeOnce = async () => {
    let conn: Deno.TcpConn | undefined;
    let late: ReturnType<typeof setTimeout> | undefined;
    try {
      // A listener that has stopped accepting fills its backlog, and then a connect waits for minutes.
      const connecting = Deno.connect({ hostname, port });
      conn = await Promise.race([
        connecting,
        new Promise<undefined>((r) => late = setTimeout(() => r(undefined), PROBE_TIMEOUT_MS)),
      ]);
      if (!conn) connecting.then((c) => c.close(), () => {});
    } catch (err) {
      // Out of descriptors here means accepts fail too; the next probe, once some are back, finds out.
      if (acceptFailure(err) === OUT_OF_DESCRIPTORS) trouble(OUT_OF_DESCRIPTORS);
      return;
    } finally {
      clearTimeout(late);
    }
    if (!conn) {
      if (stopped) return;
      trouble("the listener's backlog is full");
      return await reopen();
    }
    const accepted = await new Promise<boolean>((resolve) => {
      const timeout = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
      // Stopping ends a probe in flight at once, so no timer outlives the listener.
      cancel = () => {
        clearTimeout(timeout);
        resolve(true);
      };
      const port = (conn as Deno.TcpConn).localAddr.port;
      if (arrived?.has(port)) cancel();
      else awaited = { port, resolve: cancel };
    });
    conn.close();
    if (accepted && !stopped) answered();
    if (accepted || stopped) return;
    trouble("the listener stopped accepting");
    await reopen();
  };
  const loop = async () => {
    if (stopped) return;
    await probe();
    if (!stopped) timer = setTimeout(loop, PROBE_EVERY_MS);
  };
  timer = setTimeout(loop, PROBE_EVERY_MS);
  return {
    seen(port) {
      if (port === undefined || !arrived) return;
      arrived.add(port);
      if (awaited?.port === port) awaited.resolve();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      cancel();
    },
  };
}
