/**
 * What the watchdog of node:http's listener relies on in node:http's
 * internals (src/http/node_server_internals.ts): a Deno upgrade that changes
 * it fails here first. Real sockets on loopback; every wait is on an event,
 * bounded.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, Socket } from "node:net";
import { relisten } from "../../src/http/node_server_internals.ts";
import { within } from "./listener_cases.ts";

/** Long for a loaded machine; each wait ends at its event well before. */
const WAIT_MS = 5000;

/**
 * A keep-alive client on one connection to `port`, opened by `open`; `get`
 * sends a request and resolves with the answer's body.
 */
function client(port: number) {
  const socket = new Socket();
  const open = () => {
    const connected = within(WAIT_MS, new Promise<void>((r) => socket.once("connect", r)), "connected");
    socket.connect(port, "127.0.0.1");
    return connected;
  };
  let text = "";
  let isClosed = false;
  socket.on("error", () => {});
  socket.on("data", (d) => text += d);
  const closed = new Promise<void>((r) =>
    socket.once("close", () => {
      isClosed = true;
      r();
    })
  );
  const get = (path: string) =>
    within(
      WAIT_MS,
      new Promise<string>((resolve, reject) => {
        const body = `answer ${path}`;
        const data = () => {
          if (!text.endsWith(body)) return;
          socket.off("data", data);
          socket.off("close", early);
          resolve(body);
        };
        const early = () => reject(new Error(`${path}: the connection closed before the answer`));
        socket.on("data", data);
        socket.once("close", early);
        socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      }),
      `the answer to ${path}`,
    );
  return {
    socket,
    open,
    get,
    /** Whether the server closed it (or the test did). */
    closed: () => isClosed,
    /** Once it is closed, within the wait. */
    whenClosed: () => within(WAIT_MS, closed, "closed"),
  };
}

/** The next connection `server` accepts, by its remote port. */
function accepted(server: Server): Promise<number | undefined> {
  return within(WAIT_MS, new Promise((r) => server.once("connection", (s: Socket) => r(s.remotePort))), "accepted");
}

function listening(server: Server, reusePort: boolean): Promise<void> {
  return within(
    WAIT_MS,
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: "127.0.0.1", port: 0, reusePort }, () => {
        server.off("error", reject);
        resolve();
      });
    }),
    "listening",
  );
}

Deno.test("relisten: a new listening socket on the same port; connections opened before are kept", async (t) => {
  for (const reusePort of [false, true]) {
    await t.step(`reusePort: ${reusePort}`, async (t) => {
      const server = createServer((req, res) => res.end(`answer ${req.url}`));
      await listening(server, reusePort);
      const { port } = server.address() as AddressInfo;
      const address = { hostname: "127.0.0.1", port, reusePort };
      const before = client(port);
      const after = client(port);
      // Holds a port with no SO_REUSEPORT, so that listening there fails.
      const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      try {
        await t.step("a connection opened before is answered", async () => {
          const next = accepted(server);
          await before.open();
          await next;
          assert.equal(await before.get("/1"), "answer /1");
        });

        await t.step("relisten resolves, listening on the same port", async () => {
          await within(WAIT_MS, relisten(server, address), "relisten");
          assert.ok(server.listening);
          assert.equal((server.address() as AddressInfo).port, port);
        });

        await t.step("a new connection is accepted and answered", async () => {
          const next = accepted(server);
          await after.open();
          assert.equal(await next, after.socket.localPort);
          assert.equal(await after.get("/2"), "answer /2");
        });

        await t.step("the connection opened before is kept and still answered", async () => {
          assert.equal(await before.get("/3"), "answer /3");
          assert.ok(!before.closed());
        });

        await t.step(
          "a listen that fails rejects; while it listens nowhere, an answer closes its connection",
          async () => {
            const failed = await within(
              WAIT_MS,
              relisten(server, { ...address, port: (taken.addr as Deno.NetAddr).port }).then(
                () => undefined,
                (err: Error & { code?: string }) => err,
              ),
              "the failed relisten",
            );
            assert.equal(failed?.code, "EADDRINUSE");
            assert.ok(!server.listening);
            // The watchdog tries again a second later; meanwhile a request on an open connection is answered, and
            // node:http then closes that connection (it keeps a connection alive only while the server listens).
            assert.equal(await before.get("/4"), "answer /4");
            await before.whenClosed();
            assert.ok(!after.closed(), "an idle connection is kept");
          },
        );

        await t.step(
          "relisten after a failed listen: the same port again; the idle connection still answered",
          async () => {
            await within(WAIT_MS, relisten(server, address), "relisten");
            assert.equal((server.address() as AddressInfo).port, port);
            const another = client(port);
            try {
              await another.open();
              assert.equal(await another.get("/5"), "answer /5");
            } finally {
              another.socket.destroy();
            }
            assert.equal(await after.get("/6"), "answer /6");
          },
        );

        await t.step("close() stops the new listener and closes the idle connections", async () => {
          await within(WAIT_MS, new Promise<void>((r) => server.close(() => r())), "close");
          await after.whenClosed();
          // Refused, so no listening socket is left: with SO_REUSEPORT an old one left open would take it.
          const late = connect(port, "127.0.0.1");
          try {
            const err = await within(
              WAIT_MS,
              new Promise<Error & { code?: string }>((r) => late.once("error", r)),
              "the refusal",
            );
            assert.equal(err.code, "ECONNREFUSED");
          } finally {
            late.destroy();
          }
        });
      } finally {
        taken.close();
        before.socket.destroy();
        after.socket.destroy();
        if (server.listening) server.close();
      }
    });
  }
});
