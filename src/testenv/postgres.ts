// A real PostgreSQL server for the managed-instance tests: Debian's postgresql-15 (pinned in
// tools.versions, installed by scripts/tools.sh), run as a private process. initdb writes a fresh
// cluster into a temporary directory of its own, the server listens on 127.0.0.1 on a free port and
// on a unix socket in that directory, and no system-wide cluster or service is involved, so parallel
// environments and a second run never meet.
//
// PostgreSQL refuses to run as root. When the tests run as root, initdb and postgres run as the
// unprivileged `postgres` account the Debian package creates (the directory is made its own);
// otherwise as the current user. Local (socket) connections are trusted, which is how this module
// administers the server; TCP connections need a password (scram-sha-256), as Keycloak's would.
import { execFile, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "./ports.js";
import { startProcess, waitUntilReady } from "./processes.js";
import { requireTool } from "./tools.js";

const run = promisify(execFile);

export interface PostgresOptions {
  /** The role and database to create (default "keycloak" for both). */
  role?: string;
  database?: string;
  /** The loopback port to listen on (default: a free one), e.g. one a client was pointed at before. */
  port?: number;
  startTimeoutMs?: number;
}

export interface PostgresServer {
  host: "127.0.0.1";
  port: number;
  role: string;
  password: string;
  database: string;
  /** The server's own directory (data, socket, log); removed by stop(). */
  dir: string;
  logFile: string;
  /** Changes the role's password (the old one stops working at once). */
  setPassword(password: string): Promise<void>;
  stop(): Promise<void>;
}

/** Who runs the server: the current user, or the `postgres` account when that is root. */
function serverAccount(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  let entry: string;
  try {
    entry = execFileSync("getent", ["passwd", "postgres"], { encoding: "utf8" });
  } catch {
    throw new Error(
      'the tests run as root, PostgreSQL refuses to, and there is no "postgres" account to run it as; ' +
        "install postgresql-15 (scripts/tools.sh --debian) or run the tests as an unprivileged user",
    );
  }
  const fields = entry.trim().split(":");
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const bin = requireTool("KPO_POSTGRES_BIN_DIR");
  const account = serverAccount();
  // Its own directory under the system temp dir: a test environment's directory is private to the
  // user running the tests, and the postgres account must be able to reach this one.
  const dir = mkdtempSync(path.join(os.tmpdir(), "kpo-pg-"));
  const data = path.join(dir, "data");
  if (account.uid !== undefined && account.gid !== undefined) chownSync(dir, account.uid, account.gid);
  const asServer = { ...(account.uid !== undefined ? { uid: account.uid, gid: account.gid } : {}) };
  const role = options.role ?? "keycloak";
  const database = options.database ?? "keycloak";
  const password = randomBytes(18).toString("base64url");

  await run(
    path.join(bin, "initdb"),
    [
      "-D",
      data,
      "-U",
      "postgres",
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      "-E",
      "UTF8",
      "--no-sync",
    ],
    { ...asServer, cwd: dir },
  );
  const port = options.port ?? (await freePort());
  const logFile = path.join(dir, "postgres.log");
  writeFileSync(logFile, "");
  if (account.uid !== undefined && account.gid !== undefined) chownSync(logFile, account.uid, account.gid);
  const proc = startProcess(
    "postgres",
    path.join(bin, "postgres"),
    ["-D", data, "-h", "127.0.0.1", "-p", String(port), "-k", dir, "-c", "fsync=off"],
    { logFile, cwd: dir, ...asServer },
  );
  const psql = async (sql: string, db = "postgres") => {
    // SQL with a password goes through a file readable only by this user, never a command line.
    const file = path.join(dir, `.sql-${randomBytes(4).toString("hex")}`);
    writeFileSync(file, sql, { mode: 0o600 });
    try {
      await run(path.join(bin, "psql"), [
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        dir,
        "-p",
        String(port),
        "-U",
        "postgres",
        "-d",
        db,
        "-f",
        file,
      ]);
    } finally {
      rmSync(file, { force: true });
    }
  };
  try {
    await waitUntilReady(
      proc,
      async () => {
        await run(path.join(bin, "pg_isready"), ["-q", "-h", dir, "-p", String(port)]);
        return true;
      },
      options.startTimeoutMs ?? 30_000,
    );
    await psql(
      `CREATE ROLE ${quoteIdent(role)} LOGIN PASSWORD ${quoteLiteral(password)};\n` +
        `CREATE DATABASE ${quoteIdent(database)} OWNER ${quoteIdent(role)};\n`,
    );
  } catch (err) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const server: PostgresServer = {
    host: "127.0.0.1",
    port,
    role,
    password,
    database,
    dir,
    logFile,
    async setPassword(next) {
      await psql(`ALTER ROLE ${quoteIdent(role)} PASSWORD ${quoteLiteral(next)};\n`);
      server.password = next;
    },
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
