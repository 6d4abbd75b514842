/**
 * onnxruntime (1.30, on Linux) records usage telemetry of its own: on every
 * start it writes a device id and queues events for Microsoft's collector in
 * a SQLite file under `~/.cache/Microsoft/DeveloperTools/.onnxruntime`, and
 * uploads them when it can reach the collector. A scoring job should neither
 * report on the host it runs on nor grow a file in the home folder at every
 * cron run, so score turns it off before onnxruntime first loads, through the
 * switch onnxruntime reads for it, `ORT_DISABLE_TELEMETRY`. A value the user
 * set is kept (`0` leaves the telemetry on). tests/model/ort_telemetry_test.ts
 * pins onnxruntime's side: the files are written without the switch, and not
 * with it.
 */

/**
 * Turns onnxruntime's telemetry off for this process unless `ORT_DISABLE_TELEMETRY` is set already. Call it before
 * onnxruntime-node loads (in any thread): onnxruntime reads the switch once, when it starts.
 *
 * @example
 * ```ts
 * turnOffOrtTelemetry();
 * const ort = await import("onnxruntime-node");
 * ```
 */
export function turnOffOrtTelemetry(): void {
  try {
    if (Deno.env.get("ORT_DISABLE_TELEMETRY") === undefined) Deno.env.set("ORT_DISABLE_TELEMETRY", "1");
  } catch {
    // Run without the permission to read or set the environment: onnxruntime keeps its own default.
  }
}
