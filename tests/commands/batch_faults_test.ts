/**
 * `score batch` when Postgres goes away under it or a signal arrives while
 * it waits on Postgres, on a private server: the job ends within seconds
 * with its exit code, commits nothing, and a rerun is exactly once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connectPostgres } from "../../src/postgres/connect.ts";
import { cliArgs, FIXTURES, logLines, MODELS, ROOT, tempDir, waitUntil } from "../helpers.ts";
import { CAN_START_POSTGRES, holdInserts, startPostgres } from "../postgres/private_postgres.ts";
import { endsWithin } from "./batch_process.ts";

const RIDES = join(FIXTURES, "rides_small.csv");
const RIDE_COUNT = 200;

/** `./score batch` writing the small rides file to `table`, started in the background. */
function spawnBatch(url: string, args: string[]) {
  return new Deno.Command(join(ROOT, "score"), {
    args: ["batch", "--model", join(MODELS, "ride-duration-linreg"), "--no-progress", "--keep", "row", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { DATABASE_URL: url },
  }).spawn();
}

Deno.test({
  name: "score batch: Postgres restarting or a signal while the job waits on it ends the job within seconds",
  ignore: !CAN_START_POSTGRES,
  async fn(t) {
    await using pg = await startPostgres();
    const admin = await connectPostgres(pg.url, { retries: 8 });
    const count = async (table: string) => {
      for (let i = 0;; i++) {
        try {
          const [{ n }] = await admin.sql.unsafe(`select count(*)::int as n from ${table}`);
          return n as number;
        } catch (err) {
          if (i > 50) throw err; // the pool reconnects once the server is back
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const write = ["--input", RIDES, "--output", "postgres:", "--output-table", "preds", "--replace", "version"];
    try {
      // A first run creates the table; the trigger then holds the inserts of the next ones.
      const first = await endsWithin(spawnBatch(pg.url, write), 60_000);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(await count("preds"), RIDE_COUNT);
      const hold = await holdInserts(admin, "preds");

      await t.step("a restart during the COPY: exit 69 naming the lost connection; the old rows stay", async () => {
        await hold.on();
        const child = spawnBatch(pg.url, write);
        await hold.reached();
        await hold.off();
        await pg.restart();
        const { code, stderr } = await endsWithin(child, 20_000);
        assert.equal(code, 69, stderr);
        const last = logLines(stderr).at(-1)!;
        assert.equal(last.code, "unavailable");
        assert.match(String(last.msg), /Postgres at 127\.0\.0\.1:\d+.*(connection lost|terminat)/);
        assert.equal(await count("preds"), RIDE_COUNT, "the rows of the first run, neither deleted nor doubled");
      });

      await t.step("the rerun replaces its slice: exactly one row per input row", async () => {
        const rerun = await endsWithin(spawnBatch(pg.url, write), 60_000);
        assert.equal(rerun.code, 0, rerun.stderr);
        assert.equal(await count("preds"), RIDE_COUNT);
        const [{ runs }] = await admin.sql`select count(distinct scored_at)::int as runs from preds`;
        assert.equal(runs, 1);
      });

      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        await t.step(`${signal} while the COPY waits on Postgres ends the process; nothing is committed`, async () => {
          await hold.on();
          const child = spawnBatch(pg.url, write);
          await hold.reached();
          child.kill(signal);
          const { code, stderr } = await endsWithin(child, 15_000);
          assert.equal(code, signal === "SIGTERM" ? 143 : 130, stderr);
          // The abandoned COPY's backend sleeps on: end it so the next step waits for its own.
          await hold.release();
          assert.equal(await count("preds"), RIDE_COUNT, "the earlier rows, untouched");
        });
      }

      await t.step("a restart while reading: exit 69", async () => {
        await using dir = await tempDir();
        const child = spawnBatch(pg.url, [
          ...cliArgs({
            "--input": "postgres:",
            "--query":
              `select 1 as row, 1.5 as trip_distance, 1 as "PULocationID", 2 as "DOLocationID" from pg_sleep(60)`,
            "--output": join(dir.path, "out.csv"),
            "--output-format": "csv",
          }),
        ]);
        await waitUntil(
          async () => {
            const [{ n }] = await admin.sql`select count(*)::int as n from pg_stat_activity
            where wait_event = 'PgSleep' and query ilike '%from pg_sleep%'`;
            return n > 0;
          },
          "the job's query to be running",
          20_000,
        );
        await pg.restart();
        const { code, stderr } = await endsWithin(child, 20_000);
        assert.equal(code, 69, stderr);
      });
    } finally {
      await admin.close(0);
    }
  },
});
