/**
 * onnxruntime-node (and its native library), loaded by `loadOnnxruntime`
 * when the first model loads, never by `--help` (see src/lazy_import.ts).
 */
export * from "onnxruntime-node";
