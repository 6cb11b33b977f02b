import { describe, expect, it } from "vitest";
import { TransientError } from "../lifecycle/errors.js";
import { freePort } from "../testenv/ports.js";
import { checkDatabase, DATABASE_UNREACHABLE } from "./databaseCheck.js";

const target = (vendor: string, port: number) => ({
  vendor,
  host: "127.0.0.1",
  port,
  database: "keycloak",
  username: "kc",
  password: "s3cret-value",
});

describe("database check", () => {
  for (const vendor of ["postgres", "mariadb"]) {
    it(`Given nothing listening, When a ${vendor} database is checked, Then it is DatabaseUnreachable naming host, port and the error but not the password`, async () => {
      const port = await freePort();
      const error = await checkDatabase(target(vendor, port), { timeoutMs: 2_000 }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(TransientError);
      const transient = error as TransientError;
      expect(transient.reason).toBe(DATABASE_UNREACHABLE);
      expect(transient.message).toContain(`127.0.0.1:${port}`);
      expect(transient.message).toMatch(/ECONNREFUSED/);
      expect(transient.message).not.toContain("s3cret-value");
    });
  }
});
