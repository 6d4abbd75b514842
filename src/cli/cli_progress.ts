/**
 * cli-progress, loaded by `startProgress` only for a bar on a terminal
 * (see src/lazy_import.ts): a job logging its progress never loads it.
 */
export { default } from "cli-progress";
