/**
 * What the guarded listener relies on in Deno's internal per-connection
 * HTTP server (src/http/deno_connection.ts): a Deno upgrade that changes it
 * fails here first.
 */
import assert from "node:assert/strict";
import { hasConnectionServer, serveConnection, stopServing } from "../../src/http/deno_connection.ts";

Deno.test("serveConnection: keep-alive requests on one accepted connection; an abort closes it when idle", async (t) => {
  assert.ok(hasConnectionServer());
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const client = Deno.connect({ hostname: "127.0.0.1", port });
  const conn = await listener.accept();
  const stop = new AbortController();
  let seen = 0;
  const served = serveConnection(conn, stop.signal, async (req) => {
    seen++;
    return new Response(`${req.method} ${new URL(req.url).pathname} ${(await req.text()).length}`);
  }, () => new Response(null, { status: 500 }));
  const socket = await client;
  const read = async (until: (text: string) => boolean) => {
    let text = "";
    const buf = new Uint8Array(4096);
    while (!until(text)) {
      const n = await socket.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  };
  try {
    await t.step("two requests on the one connection, each answered by the handler", async () => {
      await socket.write(new TextEncoder().encode(
        "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
      ));
      const text = await read((s) => s.includes("GET /b 0"));
      assert.match(text, /^HTTP\/1\.1 200[^]*POST \/a 3[^]*HTTP\/1\.1 200[^]*GET \/b 0$/);
      assert.equal(seen, 2);
    });
    await t.step("an abort of the signal closes the idle connection, and finished settles", async () => {
      stop.abort();
      assert.equal(await read(() => false), "");
      await served.finished;
    });
  } finally {
    socket.close();
    listener.close();
  }
});

Deno.test("stopServing: a connection its peer has just closed is stopped without an uncaught BadResource", async () => {
  // Deno's own abort listener throws BadResource once the peer's close has freed the connection but before
  // `finished` settles (a bare abort() here fails this test as an uncaught error within the first few rounds); a
  // drain stops every idle connection at once, so it meets such a one whenever a client has just hung up.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    for (let round = 0; round < 300; round++) {
      const client = Deno.connect({ hostname: "127.0.0.1", port });
      const conn = await listener.accept();
      const close = new AbortController();
      const served = serveConnection(conn, close.signal, () => new Response("x"), () => new Response(null));
      (await client).close();
      // Each round gives the server's side a different head start on the close.
      for (let turn = 0; turn < round % 5; turn++) await Promise.resolve();
      if (round % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      stopServing(close);
      await served.finished.catch(() => {});
    }
  } finally {
    listener.close();
  }
});
