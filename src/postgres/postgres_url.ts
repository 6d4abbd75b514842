/**
 * Where a Postgres URL (or the environment: `DATABASE_URL`, `PG*`) says to
 * connect, and whether a flag's value names Postgres at all. Nothing here
 * connects: the flag tables and plans use it without loading the client.
 */
import { UsageError } from "../errors.ts";

/** Where to connect, resolved; `description` is safe to log. */
export interface PgTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  /** `sslmode` from the URL or `PGSSLMODE`, as postgres.js takes it. */
  ssl?: string;
  /** `postgres://user@host:port/database`, never with the password. */
  description: string;
}

/**
 * Whether `text` names a Postgres database: `postgres://...`,
 * `postgresql://...`, or just `postgres:` (connection from the environment).
 *
 * @example
 * ```ts
 * isPostgresUrl("postgres://app@db:5432/rides"); // true
 * ```
 */
export function isPostgresUrl(text: string | undefined): boolean {
  return text !== undefined && /^postgres(ql)?:/i.test(text);
}

/**
 * Resolves where to connect. A URL with a host is used as given (missing
 * parts from `PG*`, as libpq does); `postgres:`/`postgres://` or no URL
 * means `DATABASE_URL`, else the `PG*` variables. The default host is
 * 127.0.0.1 (not `localhost`, which may resolve to ::1 first).
 *
 * @example
 * ```ts
 * resolveTarget("postgres://app:secret@db:5432/rides").description; // "postgres://app@db:5432/rides"
 * ```
 */
export function resolveTarget(
  url?: string,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): PgTarget {
  let text = url;
  if (text === undefined || /^postgres(ql)?:(\/\/)?$/i.test(text)) text = env("DATABASE_URL") || undefined;
  let u: URL | undefined;
  if (text !== undefined) {
    try {
      u = new URL(text);
    } catch {
      // Never echo the text: it may hold a password.
      throw new UsageError("Not a valid Postgres URL (expected postgres://user:password@host:port/database)");
    }
  }
  const host = (u?.hostname || env("PGHOST") || "127.0.0.1").replace(/^\[(.*)\]$/, "$1");
  const port = Number(u?.port || env("PGPORT") || 5432);
  const user = decodeURIComponent(u?.username || "") || env("PGUSER") || env("PGUSERNAME") || "postgres";
  const database = decodeURIComponent((u?.pathname ?? "").replace(/^\//, "")) || env("PGDATABASE") || user;
  const password = u?.password ? decodeURIComponent(u.password) : env("PGPASSWORD");
  const ssl = u?.searchParams.get("sslmode") ?? env("PGSSLMODE") ?? undefined;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return {
    host,
    port,
    database,
    user,
    password,
    ssl: ssl === "disable" ? undefined : ssl,
    description: `postgres://${encodeURIComponent(user)}@${shownHost}:${port}/${encodeURIComponent(database)}`,
  };
}
