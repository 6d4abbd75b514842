/**
 * The broker's admin side of fault injection: `rabbitmqctl`, which the
 * tests and bench/soak.ts run to close a client's connection under it.
 * Never something `score` does, so it lives with the tests rather than in
 * `src/`, and has no dependency but Deno, so a benchmark can import it
 * without the test fixtures.
 */

/**
 * Closes, as an admin would, every broker connection whose client calls itself exactly `name`: give each
 * client a name of its own (`randomName`), so parallel runs on the shared broker never close each other's.
 *
 * @example
 * ```ts
 * assert.equal(await closeConnectionsNamed(loop.connectionName), 1);
 * ```
 */
export async function closeConnectionsNamed(name: string, reason = "test: forced close"): Promise<number> {
  const run = async (args: string[]) => {
    const out = await new Deno.Command("rabbitmqctl", { args, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) throw new Error(`rabbitmqctl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout);
  };
  // The JSON formatter prints pids close_connection cannot read; the table prints them whole.
  const table = await run(["list_connections", "pid", "client_properties", "--quiet"]);
  const pids = table.split("\n").slice(1)
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split("\t")[0]);
  for (const pid of pids) await run(["close_connection", pid, reason]);
  return pids.length;
}
