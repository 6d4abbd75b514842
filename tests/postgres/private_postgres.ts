/**
 * A Postgres server of a test's own, for faults the shared one must never
 * suffer (a restart in the middle of a COPY): `initdb` into a temporary
 * folder and `pg_ctl` on a free port, as the `postgres` user.
 */
import { createServer } from "node:net";
import type { Sql } from "../../src/postgres/connect.ts";
import { waitUntil } from "../helpers.ts";

const BIN = Deno.env.get("SCORE_TEST_PG_BIN") ?? "/usr/lib/postgresql/15/bin";

/** Whether a private server can be started here (the binaries, and root to run them as `postgres`). */
export const CAN_START_POSTGRES = (() => {
  try {
    return Deno.statSync(`${BIN}/pg_ctl`).isFile && Deno.uid() === 0;
  } catch {
    return false;
  }
})();

/** A running private server. */
export interface PrivatePostgres {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  /** Restarts it (`-m fast`: every session is terminated), waiting until it is up again. */
  restart(): Promise<void>;
  /** Stops it (`-m fast`), waiting until it is down: connections are refused until {@linkcode start}. */
  stop(): Promise<void>;
  /** Starts it again after {@linkcode stop}, waiting until it is up. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a private server (about a second).
 *
 * @example
 * ```ts
 * await using pg = await startPostgres();
 * await pg.restart();
 * ```
 */
export async function startPostgres(): Promise<PrivatePostgres> {
  const dir = await Deno.makeTempDir({ prefix: "score-pg-" });
  await Deno.chmod(dir, 0o777);
  const data = `${dir}/data`;
  const port = await freePort();
  const ctl = (...args: string[]) => asPostgres(`${BIN}/pg_ctl`, "-D", data, ...args);
  const options = ["-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, "-l", `${dir}/log`];
  await asPostgres(`${BIN}/initdb`, "-D", data, "-A", "trust", "--no-sync");
  await ctl("-w", ...options, "start");
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () => ctl("-w", "-m", "fast", ...options, "restart"),
    stop: () => ctl("-w", "-m", "fast", "stop"),
    start: () => ctl("-w", ...options, "start"),
    async [Symbol.asyncDispose]() {
      await ctl("-w", "-m", "immediate", "stop").catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function asPostgres(...command: string[]): Promise<void> {
  const out = await new Deno.Command("runuser", { args: ["-u", "postgres", "--", ...command], stdin: "null" })
    .output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${command.join(" ")} failed: ${text}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Inserts into a table that stall while held, to catch a COPY in the middle. */
export interface Hold {
  /** From now on an insert sleeps (a minute) before it is taken. */
  on(): Promise<void>;
  /** Inserts from now on go through; one already asleep stays asleep. */
  off(): Promise<void>;
  /** Waits (10 s at most) until an insert is asleep. */
  reached(): Promise<void>;
  /** Ends the sessions of inserts still asleep, waiting until they are gone. */
  release(): Promise<void>;
}

/**
 * Puts a trigger on `table` whose inserts sleep while the hold is on.
 *
 * @example
 * ```ts
 * const hold = await holdInserts(admin, "t");
 * await hold.on();
 * ```
 */
export async function holdInserts(admin: { sql: Sql }, table: string): Promise<Hold> {
  const { sql } = admin;
  await sql.unsafe("create table if not exists score_hold (on_ boolean)");
  await sql.unsafe(
    `create or replace function score_hold() returns trigger language plpgsql as $$
     begin
       if exists (select 1 from score_hold) then perform pg_sleep(60); end if;
       return new;
     end $$`,
  );
  await sql.unsafe(`create trigger score_hold before insert on ${table} for each row execute function score_hold()`);
  const asleep = async () => {
    const [{ n }] = await sql.unsafe(
      "select count(*)::int as n from pg_stat_activity where wait_event = 'PgSleep' and query ilike 'copy%'",
    );
    return n as number;
  };
  return {
    on: async () => void await sql.unsafe("insert into score_hold values (true)"),
    off: async () => void await sql.unsafe("delete from score_hold"),
    async reached() {
      // A bound, not a wait: the job's process starts and loads its model first, which takes seconds on a busy machine.
      await waitUntil(async () => await asleep() > 0, "an insert to be held", 30_000);
    },
    async release() {
      await sql.unsafe("delete from score_hold");
      await sql.unsafe(
        "select pg_terminate_backend(pid) from pg_stat_activity where wait_event = 'PgSleep' and query ilike 'copy%'",
      );
      await waitUntil(async () => await asleep() === 0, "the held inserts to wake", 10_000);
    },
  };
}
