// Per-instance TLS: the custom CA (or insecure mode) must reach the admin client's fetch calls
// through the undici dispatcher. Checked against a real HTTPS server with a certificate from a
// throw-away CA made with openssl.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeycloakConnection, type TlsOptions } from "./connection.js";
import { KeycloakUnreachableError } from "./errors.js";

let dir: string;
let caPem: string;
let server: Server;
let baseUrl: string;

function openssl(args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "kpo-tls-"));
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=kpo test CA",
  ]);
  openssl(["req", "-new", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
  writeFileSync(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:kc.identity.svc\n");
  openssl(
    ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"].concat([
      "-out",
      "server.crt",
      "-days",
      "1",
      "-extfile",
      "server.ext",
    ]),
  );
  caPem = readFileSync(path.join(dir, "ca.crt"), "utf8");
  server = createServer(
    { key: readFileSync(path.join(dir, "server.key")), cert: readFileSync(path.join(dir, "server.crt")) },
    (req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        req.url?.endsWith("/token")
          ? JSON.stringify({ access_token: "a", expires_in: 60 })
          : JSON.stringify({ realm: "tls", displayName: "over TLS" }),
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function readRealm(tls?: TlsOptions): Promise<unknown> {
  const conn = new KeycloakConnection({
    instance: "test/tls",
    baseUrl,
    credentials: { kind: "clientCredentials", clientId: "op", clientSecret: "s" },
    ...(tls ? { tls } : {}),
  });
  try {
    return await conn.call({ method: "GET", what: "read realm" }, (kc) =>
      kc.realms.findOne({ realm: "tls" }),
    );
  } finally {
    await conn.close();
  }
}

describe("Given Keycloak served over TLS by a private CA", () => {
  it("When the connection has no CA, Then the certificate is refused and the error points at the TLS settings", async () => {
    const err = await readRealm().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeycloakUnreachableError);
    expect((err as KeycloakUnreachableError).reason).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    expect((err as Error).message).toContain("TLS settings");
  });

  it("When the connection trusts the CA, Then admin calls succeed", async () => {
    expect(await readRealm({ caPem })).toEqual({ realm: "tls", displayName: "over TLS" });
  });

  it("When the URL's host is an IP and servername names the certificate's DNS name, Then the name is what is verified", async () => {
    expect(await readRealm({ caPem, servername: "kc.identity.svc" })).toEqual({
      realm: "tls",
      displayName: "over TLS",
    });
    const err = await readRealm({ caPem, servername: "other.identity.svc" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeycloakUnreachableError);
    expect((err as KeycloakUnreachableError).reason).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  it("When verification is disabled, Then admin calls succeed without the CA", async () => {
    expect(await readRealm({ insecureSkipVerify: true })).toEqual({ realm: "tls", displayName: "over TLS" });
  });
});
