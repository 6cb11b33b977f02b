// The database of a managed instance is checked before any workload exists: its credentials Secret
// and keys must be there, and then a real connection and login must succeed. A Keycloak pod started
// against a database it cannot reach crash-loops with a Java stack trace in its log; this check puts
// the cause (host, port and the server's own error) in the instance's status instead, and keeps the
// StatefulSet from being created until it is fixed.
//
// PostgreSQL gets a real login with `pg` (short timeouts, one `SELECT 1`). For the other vendors
// the operator carries no driver, so the check is a TCP connection to host:port. The password is
// never put in a message; as a last guard any occurrence of it in a driver's message is masked.
import net from "node:net";
import pg from "pg";
import { TransientError } from "../lifecycle/errors.js";

/** The reason of the Ready condition while the database cannot be reached or logged in to. */
export const DATABASE_UNREACHABLE = "DatabaseUnreachable";

export interface DatabaseTarget {
  vendor: string;
  host: string;
  port: number;
  database: string;
  username: string;
  password: string;
}

export interface DatabaseCheckOptions {
  /** For the connection and the login together. Default 5 s. */
  timeoutMs?: number;
}

function masked(message: string, password: string): string {
  return password.length > 0 ? message.split(password).join("***") : message;
}

function unreachable(target: DatabaseTarget, detail: string): TransientError {
  return new TransientError(
    `database ${target.vendor} at ${target.host}:${target.port} (database "${target.database}", ` +
      `user "${target.username}"): ${masked(detail, target.password)}; ` +
      `no workload is created until it accepts a login`,
    { reason: DATABASE_UNREACHABLE },
  );
}

async function postgresLogin(target: DatabaseTarget, timeoutMs: number): Promise<void> {
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.username,
    password: target.password,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
  });
  // A connection that fails after connect() resolved (server restart) must not crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
  } finally {
    await client.end().catch(() => undefined);
  }
}

function tcpConnect(target: DatabaseTarget, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TCP connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return describe(err.errors[0]);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const text = err.message || (typeof code === "string" ? code : err.name);
    return typeof code === "string" && !text.includes(code) ? `${text} (${code})` : text;
  }
  return String(err);
}

/** Resolves when the database accepts the login; throws a TransientError (DatabaseUnreachable) otherwise. */
export async function checkDatabase(
  target: DatabaseTarget,
  options: DatabaseCheckOptions = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  try {
    if (target.vendor === "postgres") await postgresLogin(target, timeoutMs);
    else await tcpConnect(target, timeoutMs);
  } catch (err) {
    throw unreachable(target, describe(err));
  }
}
