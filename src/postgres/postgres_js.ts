/**
 * postgres.js, loaded by `connectPostgres` only when a job or the
 * prediction log connects (see src/lazy_import.ts).
 */
export { default } from "postgres";
