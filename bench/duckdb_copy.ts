/**
 * DuckDB copying the rows a `score batch --keep ride_id` job writes (the
 * distance standing in for the prediction), file to file in the same
 * format, all cores: the native reference of `make bench-batch`, run as a
 * process of its own so that it is timed whole (start, load, copy) as
 * `score batch` is. Prints the copy's own seconds as JSON.
 *
 *   deno run --allow-all bench/duckdb_copy.ts rides.parquet out.parquet parquet
 */
import { openDuckDB, sqlString } from "../src/duckdb/duckdb.ts";

const [input, output, format] = Deno.args;
if (format !== "csv" && format !== "parquet") {
  console.error("usage: duckdb_copy.ts <input> <output> csv|parquet");
  Deno.exit(64);
}
// Every core: the reference is DuckDB at its best (score's own DuckDB leaves a core to the job's JavaScript).
const db = await openDuckDB({ threads: navigator.hardwareConcurrency, memoryLimit: "256MB" });
try {
  const read = format === "csv" ? `read_csv(${sqlString(input)})` : `read_parquet(${sqlString(input)})`;
  const t = performance.now();
  await db.connection.run(
    `copy (select ride_id, trip_distance as duration, 'ride-duration-linreg' as model_name, ` +
      `'9bceaa0ed43a' as model_version from ${read}) to ${sqlString(output)} (format ${format})`,
  );
  console.log(JSON.stringify({ seconds: (performance.now() - t) / 1000 }));
} finally {
  await db.close();
}
